package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

// readBody answers with the length of the body it read, or 413 when the read hit the limit.
type readBody struct{}

func (readBody) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
	default:
		_, _ = fmt.Fprint(w, len(b))
	}
}

// onlyReader hides the length of a strings.Reader, so the client sends the body chunked.
type onlyReader struct{ io.Reader }

// MaxRequestBody over loopback: a declared length over it is refused before the handler, a
// chunked body that outgrows it fails the handler's read, and bodies within it arrive whole.
func TestRequestBodyLimit(t *testing.T) {
	s := New(Options{MaxRequestBody: 4})
	s.Swap(readBody{}, nil)
	addr := serveOn(t, s)
	for _, tc := range []struct {
		name    string
		body    io.Reader
		status  int
		content string
	}{
		{"declared at the limit", strings.NewReader("1234"), 200, "4"},
		{"declared over the limit", strings.NewReader("12345"), 413, ""},
		{"chunked at the limit", onlyReader{strings.NewReader("1234")}, 200, "4"},
		{"chunked over the limit", onlyReader{strings.NewReader("12345")}, 413, ""},
		{"empty", strings.NewReader(""), 200, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post("http://"+addr+"/", "text/plain", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != tc.status || (tc.status == 200 && string(b) != tc.content) {
				t.Fatalf("got %d %q %v, want %d %q", resp.StatusCode, b, err, tc.status, tc.content)
			}
		})
	}
}

// A body of declared length costs no allocation for the limit: net/http already ends it at
// its length, which the server has checked against the limit.
func TestRequestBodyLimitDeclaredAllocs(t *testing.T) {
	if testenv.RaceSlowdown > 1 {
		t.Skip("allocation counts differ under -race")
	}
	allocs := func(max int64) float64 {
		s := New(Options{MaxRequestBody: max, DisableAccessLog: true})
		s.Swap(readBody{}, nil)
		w := &sink{h: http.Header{}}
		body := strings.NewReader(`{"model":"m"}`)
		r, _ := http.NewRequest(http.MethodPost, "http://gw/v1/chat/completions", body)
		r.RemoteAddr, r.RequestURI = "127.0.0.1:50000", "/v1/chat/completions"
		r.Header.Set("X-Request-Id", "fixed") // no id to generate
		return testing.AllocsPerRun(200, func() {
			clear(w.h)
			body.Reset(`{"model":"m"}`)
			r.Body = io.NopCloser(body)
			s.ServeHTTP(w, r)
		})
	}
	if unlimited, limited := allocs(0), allocs(1<<20); limited > unlimited {
		t.Fatalf("allocations per request: %v with a 1 MiB limit, %v without", limited, unlimited)
	}
}
