package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"github.com/infergw/gwctl/internal/testenv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/config"
	"github.com/infergw/gwctl/dataplane/server"
)

// upstream is a real HTTP server on loopback standing in for a Service.
func upstream(t *testing.T, name string, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Upstream", name)
			w.Header().Set("X-Seen-Path", r.URL.Path)
			w.Header().Set("X-Seen-Host", r.Host)
			w.Header().Set("X-Seen-Tenant", r.Header.Get("X-Tenant"))
			w.Header().Set("X-Seen-Forwarded-For", r.Header.Get("X-Forwarded-For"))
			w.Header().Set("X-Seen-Request-Id", r.Header.Get("X-Request-Id"))
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s:%d", name, len(b))
		}
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// syncBuffer collects log output written by server goroutines.
type syncBuffer = testenv.Buffer

type running struct {
	d     *Dataplane
	url   string
	admin string
	debug string
	log   *syncBuffer
	stop  context.CancelFunc
	done  chan error
	ln    net.Listener
}

// start runs a dataplane over loopback on the config in dir.
func start(t *testing.T, s Settings) *running {
	t.Helper()
	logs := &syncBuffer{}
	if s.WatchInterval == 0 {
		s.WatchInterval = 20 * time.Millisecond
	}
	d := New(s, slog.New(slog.NewJSONHandler(logs, nil)))
	if _, err := d.Load(); err != nil {
		var inv *config.InvalidError
		if errors.As(err, &inv) {
			t.Fatalf("load: %v\n%s", err, config.FormatFindings(inv.Findings))
		}
		t.Fatalf("load: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dbg, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, url: "http://" + ln.Addr().String(), admin: "http://" + adm.Addr().String(), debug: "http://" + dbg.Addr().String(),
		log: logs, stop: cancel, done: make(chan error, 1), ln: ln}
	go func() {
		r.done <- d.RunListeners(ctx, server.Listeners{Bindings: []server.Binding{{Listener: ln}}, Admin: adm, Debug: dbg})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("dataplane did not stop")
		}
	})
	waitFor(t, "readyz", func() bool {
		resp, err := http.Get(r.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}

func writeConfig(t testing.TB, dir, body string) {
	t.Helper()
	tmp := filepath.Join(dir, ".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "resources.yaml")); err != nil {
		t.Fatal(err)
	}
}

const gatewayYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
`

func httpRoute(name, spec string) string {
	return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: " + name + ", namespace: default}\nspec:\n  parentRefs: [{name: gw}]\n" + spec + "\n---\n"
}

func hostport(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

func get(t *testing.T, c *http.Client, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
