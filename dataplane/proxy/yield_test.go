package proxy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/infergw/gwctl/dataplane/h1server"
)

// TestYieldWhenAlone: the handler yields its thread once per request (letting net/http's
// background read of the client connection run and park before the upstream call) only for an
// HTTP/1.1 request whose body is read whole (or that has none), and only when no other request
// is in flight.
func TestYieldWhenAlone(t *testing.T) {
	var yields atomic.Int32
	yield = func() { yields.Add(1); runtime.Gosched() }
	t.Cleanup(func() { yield = runtime.Gosched })
	held, release := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/hold" {
			held <- struct{}{}
			<-release
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer up.Close()
	front := httptest.NewUnstartedServer(New(strings.TrimPrefix(up.URL, "http://"), Options{}))
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	front.Config.Protocols = &protos
	front.Start()
	defer front.Close()
	var h2 http.Protocols
	h2.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &h2}}
	h1 := &http.Client{Transport: &http.Transport{}}
	send := func(c *http.Client, method, path string, body []byte) {
		t.Helper()
		req, err := http.NewRequest(method, front.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body == nil {
			req.Body, req.ContentLength = nil, 0
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
		}
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		method string
		body   []byte
		want   int32
	}{
		{"HTTP/1.1, 1 KB body", h1, http.MethodPost, bytes.Repeat([]byte("x"), 1024), 1},
		{"HTTP/1.1, no body", h1, http.MethodGet, nil, 1},
		{"HTTP/1.1, body streamed (over prereadMax)", h1, http.MethodPost, bytes.Repeat([]byte("x"), prereadMax+1), 0},
		{"HTTP/2, 1 KB body", h2c, http.MethodPost, bytes.Repeat([]byte("x"), 1024), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yields.Store(0)
			send(tc.client, tc.method, "/", tc.body)
			if got := yields.Load(); got != tc.want {
				t.Errorf("yields = %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("HTTP/1.1 served by h1server", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fast := &h1server.Server{HTTP: &http.Server{Handler: front.Config.Handler}}
		go fast.Serve(ln)
		defer fast.Close()
		yields.Store(0)
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", bytes.NewReader([]byte(`{"model":"m"}`)))
		resp, err := h1.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := yields.Load(); resp.StatusCode != http.StatusOK || got != 0 {
			t.Errorf("status %d, yields = %d, want 200, 0 (no background read to run)", resp.StatusCode, got)
		}
	})
	t.Run("another request in flight", func(t *testing.T) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequest(http.MethodGet, front.URL+"/hold", nil)
			if resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		<-held // the first request is in the handler, waiting for the upstream
		yields.Store(0)
		send(h1, http.MethodPost, "/", []byte(`{"model":"m"}`))
		close(release)
		<-done
		if got := yields.Load(); got != 0 {
			t.Errorf("yields with another request in flight = %d, want 0", got)
		}
	})
}
