package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/h1server"
	"github.com/infergw/gwctl/dataplane/proxy"
)

// What the fast HTTP/1.1 loop (h1server, on unless GWCTL_NOFAST=h1server) hands to net/http
// still works through a traffic binding: an upgrade proxied to the upstream (101, then both
// directions on the connection), and Expect: 100-continue (the body is sent after the 100).
func TestHandOffThroughServer(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			b, _ := io.ReadAll(r.Body)
			_, _ = io.WriteString(w, "body "+string(b))
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
	}))
	defer up.Close()
	addr := startEdge(t, Options{}, proxy.New(strings.TrimPrefix(up.URL, "http://"), proxy.Options{}))

	t.Run("upgrade", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v, %v", res, err)
		}
		_, _ = io.WriteString(c, "ping\n")
		if line, err := br.ReadString('\n'); line != "echo: ping\n" {
			t.Errorf("after the upgrade: %q, %v", line, err)
		}
	})
	t.Run("expect 100-continue", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "POST /e HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != http.StatusContinue {
			t.Fatalf("before the body: %v, %v; want 100 Continue", res, err)
		}
		_, _ = io.WriteString(c, "data")
		for res.StatusCode == http.StatusContinue { // the upstream's own 100, forwarded
			if res, err = http.ReadResponse(br, nil); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || string(b) != "body data" {
			t.Errorf("after the body: %d %q", res.StatusCode, b)
		}
	})
}

// A plain HTTP/1.1 request on a traffic binding is served by h1server, unless
// GWCTL_NOFAST=h1server; the admin listener stays on net/http.
func TestTrafficServedByH1Server(t *testing.T) {
	served := make(chan bool, 1)
	addr := startEdge(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served <- h1server.Served(r.Context())
	}))
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := <-served; got != fastH1 {
		t.Errorf("served by h1server: %v, want %v (fast path on: %v)", got, fastH1, fastH1)
	}
}
