package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
)

// The binary batches its access lines (server.LineWriter): a request's line still reaches
// stdout shortly after the request, whole, once, and the lines buffered at shutdown are written
// before run returns.
func TestAccessLinesReachStdout(t *testing.T) {
	logs := &testenv.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", "testdata/valid.yaml", "--resolve", "a.default=127.0.0.1:1",
			"--listen", "127.0.0.1:0", "--admin", "", "--debug-addr", ""},
			nil, logs, logs, func(string) string { return "" })
	}()
	lines := func(path string) (n int, traffic string) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, Listen, Path string }
			if json.Unmarshal([]byte(line), &rec) != nil {
				continue
			}
			if rec.Msg == "serving" {
				traffic = rec.Listen
			}
			if rec.Msg == "request" && rec.Path == path {
				n++
			}
		}
		return n, traffic
	}
	get := func(addr, path string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	_, addr := lines("")
	for ; addr == ""; _, addr = lines("") {
		if time.Now().After(deadline) {
			t.Fatalf("no traffic address logged:\n%s", logs)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
	get(addr, "/while-running")
	for n, _ := lines("/while-running"); n == 0; n, _ = lines("/while-running") {
		if time.Now().After(deadline) {
			t.Fatalf("the access line was not written while serving:\n%s", logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	get(addr, "/at-shutdown")
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs)
	}
	for _, path := range []string{"/while-running", "/at-shutdown"} {
		if n, _ := lines(path); n != 1 {
			t.Errorf("%s: %d access lines, want 1:\n%s", path, n, logs)
		}
	}
}
