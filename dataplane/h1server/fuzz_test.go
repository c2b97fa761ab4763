package h1server_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzServe: whatever bytes a client sends, net/http's server and h1server answer with the
// same statuses, in the same order, and keep or close the connection alike (the sentinel
// request's answer). Seeds: the differential cases and testdata/fuzz/FuzzServe.
//
//	go test ./dataplane/h1server -run '^$' -fuzz FuzzServe -fuzztime 1m
func FuzzServe(f *testing.F) {
	for _, parts := range diffRequests() {
		if s := strings.Join(parts, ""); len(s) < 8<<10 {
			f.Add([]byte(s))
		}
	}
	for _, p := range diffPaths() {
		f.Add([]byte("GET " + p + " HTTP/1.1\r\nHost: a\r\n\r\n"))
	}
	p := startPair(f, http.HandlerFunc(diffHandler))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, err := exchange(p.std, []string{string(data)}, 30*time.Millisecond)
		if err != nil {
			t.Skip(err)
		}
		got, err := exchange(p.fast, []string{string(data)}, 30*time.Millisecond)
		if err != nil {
			t.Skip(err)
		}
		if g, w := statuses(got), statuses(want); g != w {
			t.Errorf("request %q:\nh1server %s\n%q\nnet/http %s\n%q", data, g, got, w, want)
		}
	})
}

// statuses lists the status codes in a transcript, and what follows the last response that
// parses.
func statuses(transcript string) string {
	br := bufio.NewReader(strings.NewReader(transcript))
	var b strings.Builder
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			rest, _ := io.ReadAll(br)
			fmt.Fprintf(&b, "| %d bytes unparsed", len(rest))
			return b.String()
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		fmt.Fprintf(&b, "%d ", res.StatusCode)
	}
}
