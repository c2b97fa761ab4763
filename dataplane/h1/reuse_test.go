package h1_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/h1"
	"github.com/infergw/gwctl/dataplane/proxy"
)

func get(t testing.TB, rt http.RoundTripper, u string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	res, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReuse: sequential requests use one connection; concurrent ones as many as run at once,
// and no more stay idle than the per-host bound.
func TestReuse(t *testing.T) {
	t.Run("sequential", func(t *testing.T) {
		up := newRawUpstream(t, always(chunkedReply, false))
		tr := h1.New(proxy.NewTransport())
		defer tr.CloseIdleConnections()
		for range 20 {
			if got := get(t, tr, up.URL()); got != "hello, world" {
				t.Fatalf("body %q", got)
			}
			s := reqSpec{method: "POST", path: "/", body: "{}", kind: memBody}
			if o := do(tr, up.URL(), s); o.Status != 200 {
				t.Fatalf("post: %+v", o)
			}
		}
		if accepts, _, _ := up.stats(); accepts != 1 {
			t.Errorf("40 sequential requests: %d connections, want 1", accepts)
		}
	})
	for _, perHost := range []int{1024, 2} {
		t.Run("concurrent", func(t *testing.T) {
			up := newRawUpstream(t, always(okReply, false))
			fb := proxy.NewTransport()
			fb.MaxIdleConnsPerHost = perHost
			tr := h1.New(fb)
			defer tr.CloseIdleConnections()
			const workers = 8
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for range 25 {
						get(t, tr, up.URL())
					}
				})
			}
			wg.Wait()
			accepts, _, _ := up.stats()
			if perHost >= workers && accepts > workers {
				t.Errorf("%d workers: %d connections", workers, accepts)
			}
			waitFor(t, 5*time.Second, "idle connections within the per-host bound", func() bool {
				_, open, _ := up.stats()
				return open <= min(perHost, workers)
			})
		})
	}
	t.Run("total bound", func(t *testing.T) {
		fb := proxy.NewTransport()
		fb.MaxIdleConns = 3
		tr := h1.New(fb)
		defer tr.CloseIdleConnections()
		ups := []*rawUpstream{newRawUpstream(t, always(okReply, false)), newRawUpstream(t, always(okReply, false))}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for range 10 {
					get(t, tr, ups[i%2].URL())
				}
			})
		}
		wg.Wait()
		waitFor(t, 5*time.Second, "at most 3 idle connections in all", func() bool {
			_, a, _ := ups[0].stats()
			_, b, _ := ups[1].stats()
			return a+b <= 3
		})
	})
}

// TestBodyEnd: a body read to its end gives the connection back; one closed early closes it;
// one closed with only the last chunk left unread gives it back.
func TestBodyEnd(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n" + strings.Repeat("z", 1<<20)
	for _, tc := range []struct {
		name  string
		reply string
		read  int // bytes read before Close; -1: to EOF
		conns int
	}{
		{"read to EOF", big, -1, 1},
		{"closed early", big, 10, 2},
		{"closed with the last chunk unread", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 5, 1},
		{"closed with a chunk unread", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", 5, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newRawUpstream(t, always(tc.reply, false))
			tr := h1.New(proxy.NewTransport())
			defer tr.CloseIdleConnections()
			for range 2 {
				req, _ := http.NewRequest("GET", up.URL(), nil)
				res, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				if tc.read < 0 {
					_, err = io.Copy(io.Discard, res.Body)
				} else {
					_, err = io.ReadFull(res.Body, make([]byte, tc.read))
				}
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if _, err := res.Body.Read(make([]byte, 1)); err == nil {
					t.Error("read after Close: no error")
				}
			}
			if accepts, _, _ := up.stats(); accepts != tc.conns {
				t.Errorf("connections %d, want %d", accepts, tc.conns)
			}
		})
	}
}

// TestIdleConnections: an idle connection is closed after IdleConnTimeout, and by
// CloseIdleConnections.
func TestIdleConnections(t *testing.T) {
	up := newRawUpstream(t, always(okReply, false))
	fb := proxy.NewTransport()
	fb.IdleConnTimeout = 50 * time.Millisecond
	tr := h1.New(fb)
	get(t, tr, up.URL())
	waitFor(t, 5*time.Second, "the idle connection closed after its timeout", func() bool { _, open, _ := up.stats(); return open == 0 })

	tr = h1.New(proxy.NewTransport())
	get(t, tr, up.URL())
	if _, open, _ := up.stats(); open != 1 {
		t.Fatalf("open connections %d, want 1", open)
	}
	tr.CloseIdleConnections()
	waitFor(t, 5*time.Second, "CloseIdleConnections to close it", func() bool { _, open, _ := up.stats(); return open == 0 })
	get(t, tr, up.URL()) // and the client works on
}

// TestFallback: what h1 does not serve goes to the fallback *http.Transport (which calls the
// GotConn hook; h1 does not): https, a proxy, upgrades, Expect, and a fallback with settings h1
// does not reproduce.
func TestFallback(t *testing.T) {
	up := newRawUpstream(t, always(okReply, false))
	tlsUp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "tls") }))
	defer tlsUp.Close()
	proxied := newRawUpstream(t, always(okReply, false))
	for _, tc := range []struct {
		name     string
		url      string
		header   map[string]string
		fb       func(*http.Transport)
		fallback bool
		err      string // the fallback's error
	}{
		{name: "plain", url: up.URL()},
		{name: "https", url: tlsUp.URL, fallback: true},
		{name: "proxy", url: up.URL(), fb: func(t *http.Transport) {
			t.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: strings.TrimPrefix(proxied.URL(), "http://")})
		}, fallback: true},
		{name: "proxy not for this host", url: up.URL(), fb: func(t *http.Transport) {
			t.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
		}},
		{name: "upgrade", url: up.URL(), header: map[string]string{"Connection": "Upgrade", "Upgrade": "websocket"}, fallback: true},
		{name: "expect", url: up.URL(), header: map[string]string{"Expect": "100-continue"}, fallback: true},
		{name: "invalid header", url: up.URL(), header: map[string]string{"X-Bad": "a\x00b"}, err: `net/http: invalid header field value for "X-Bad"`},
		{name: "compression", url: up.URL(), fb: func(t *http.Transport) { t.DisableCompression = false }, fallback: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := proxy.NewTransport()
			fb.TLSClientConfig = &tls.Config{RootCAs: tlsUp.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
			if tc.fb != nil {
				tc.fb(fb)
			}
			tr := h1.New(fb)
			defer tr.CloseIdleConnections()
			viaFallback := false
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { viaFallback = true }})
			req, _ := http.NewRequestWithContext(ctx, "GET", tc.url, nil)
			for k, v := range tc.header {
				req.Header[k] = []string{v}
			}
			res, err := tr.RoundTrip(req)
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want net/http's %q", err, tc.err)
				}
				return
			}
			if viaFallback != tc.fallback {
				t.Errorf("through the fallback: %v, want %v (err %v)", viaFallback, tc.fallback, err)
			}
		})
	}
	if accepts, _, received := proxied.stats(); accepts != 1 || !strings.HasPrefix(received, "GET http://") {
		t.Errorf("the proxy: %d connections, received %.60q", accepts, received)
	}
}

// TestIdleTotalBoundSameHost: when the total idle bound evicts a connection to the same host as
// the one going idle, that host's idle list stays whole (it kept a stale entry, and a later
// request panicked on it).
func TestIdleTotalBoundSameHost(t *testing.T) {
	up := newRawUpstream(t, always(okReply, false))
	fb := proxy.NewTransport()
	fb.MaxIdleConns = 2
	tr := h1.New(fb)
	defer tr.CloseIdleConnections()
	// Three connections at once, their bodies unread; then each goes idle, and the third
	// evicts the first. Twice: the second round takes the two idle ones and dials one.
	for round := range 2 {
		var held []*http.Response
		for range 3 {
			req, _ := http.NewRequest("GET", up.URL(), nil)
			res, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			held = append(held, res)
		}
		for _, res := range held {
			if b, err := io.ReadAll(res.Body); err != nil || string(b) != "hello" {
				t.Fatalf("round %d: body %q, %v", round, b, err)
			}
			res.Body.Close()
		}
	}
	if accepts, _, _ := up.stats(); accepts != 4 {
		t.Errorf("%d connections, want 4 (3, then 1 beside the 2 idle ones)", accepts)
	}
}
