package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infergw/gwctl/dataplane/proxy"
)

// rawUpstream is a loopback HTTP/1.1 server that records every request head as its lines
// arrived on the wire, so a test sees exactly which framing headers a proxy sent.
type rawUpstream struct {
	ln    net.Listener
	mu    sync.Mutex
	heads [][]string
}

func startRawUpstream(t *testing.T) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return u
}

func (u *rawUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		var head []string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			head = append(head, line)
		}
		u.mu.Lock()
		u.heads = append(u.heads, head)
		u.mu.Unlock()
		var err error
		if te := headerValue(head, "Transfer-Encoding"); te == "chunked" {
			if _, err = io.Copy(io.Discard, httputil.NewChunkedReader(br)); err == nil {
				_, err = br.ReadString('\n') // the empty trailer section
			}
		} else if cl := headerValue(head, "Content-Length"); cl != "" {
			n, _ := strconv.ParseInt(cl, 10, 64)
			_, err = io.CopyN(io.Discard, br, n)
		}
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// requests returns the request heads received so far.
func (u *rawUpstream) requests() [][]string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([][]string(nil), u.heads...)
}

// headerValue is the value of the first field named name in head (case-insensitive), or "".
func headerValue(head []string, name string) string {
	for _, l := range head[min(1, len(head)):] {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// startEdge serves h through a Server on a loopback traffic listener and returns its address.
func startEdge(t *testing.T, opts Options, h http.Handler) string {
	t.Helper()
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 2 * time.Second
	}
	s := New(opts)
	s.Swap(h, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListeners(ctx, Listeners{Bindings: []Binding{{Listener: ln}}}) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

type rawResponse struct {
	status int
	header http.Header
	body   string
}

// exchange writes raw on a new connection to addr and reads responses until the connection is
// closed (closed is true) or the read deadline passes without a complete response.
func exchange(t *testing.T, addr, raw string) (resps []rawResponse, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = io.WriteString(c, raw) }() // may block past the server's refusal
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for len(resps) < 10 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			return resps, !(errors.As(err, &ne) && ne.Timeout())
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("reading response %d: %v", len(resps)+1, err)
		}
		resps = append(resps, rawResponse{resp.StatusCode, resp.Header, string(b)})
	}
	return resps, false
}

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n"

// Issue #15 finding 5: a request with both Content-Length and Transfer-Encoding was served and
// its connection kept open, so bytes after the chunked body reached the upstream as a second
// request. Every request below is followed, on the same connection, by a smuggled GET: the
// gateway must answer the first and close, and the upstream must see at most one request,
// with exactly one framing header.
func TestFramingClosesOrRefuses(t *testing.T) {
	cases := []struct {
		name     string
		raw      string
		status   int
		upstream int // requests the upstream sees
	}{
		{"Content-Length then chunked", "POST /first HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, 1},
		{"chunked then Content-Length, odd case", "POST /first HTTP/1.1\r\nHost: gw\r\ntransfer-encoding: Chunked\r\ncontent-length: 40\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, 1},
		{"Content-Length 0 and chunked", "POST /first HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, 1},
		{"chunked alone", "POST /first HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, 1},
		{"HTTP/1.0 keep-alive with both", "POST /first HTTP/1.0\r\nHost: gw\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", 200, 1},
		{"two different Content-Lengths", "POST /first HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, 0},
		{"a Content-Length list", "POST /first HTTP/1.1\r\nHost: gw\r\nContent-Length: 5, 5\r\n\r\nhello", 400, 0},
		{"Transfer-Encoding gzip, chunked", "POST /first HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501, 0},
		{"Transfer-Encoding identity", "POST /first HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello", 501, 0},
		{"two Transfer-Encoding fields", "POST /first HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501, 0},
		{"space before the colon", "POST /first HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello", 400, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := startRawUpstream(t)
			addr := startEdge(t, Options{}, proxy.New(up.ln.Addr().String(), proxy.Options{}))
			resps, closed := exchange(t, addr, tc.raw+smuggled)
			if len(resps) != 1 || resps[0].status != tc.status || !closed {
				t.Fatalf("got %d responses %+v, closed=%v; want one %d, then the connection closed", len(resps), resps, closed, tc.status)
			}
			reqs := up.requests()
			if len(reqs) != tc.upstream {
				t.Fatalf("upstream saw %d requests, want %d: %q", len(reqs), tc.upstream, reqs)
			}
			for _, head := range reqs {
				if !strings.HasPrefix(head[0], "POST /first ") {
					t.Errorf("upstream saw %q", head[0])
				}
				cl, te := headerValue(head, "Content-Length") != "", headerValue(head, "Transfer-Encoding") != ""
				if cl == te {
					t.Errorf("upstream head has Content-Length=%v Transfer-Encoding=%v, want exactly one: %q", cl, te, head)
				}
			}
		})
	}
}

// Clients that frame by Content-Length keep their connection: the close is only for chunked
// and HTTP/1.0 requests.
func TestContentLengthKeepsConnection(t *testing.T) {
	up := startRawUpstream(t)
	addr := startEdge(t, Options{}, proxy.New(up.ln.Addr().String(), proxy.Options{}))
	req := "POST /first HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello"
	resps, _ := exchange(t, addr, req+req+"GET /last HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
	if len(resps) != 3 || len(up.requests()) != 3 {
		t.Fatalf("got %d responses, upstream %d requests; want 3 on one connection", len(resps), len(up.requests()))
	}
}

// obs-fold (a header line continued on the next with leading space) is folded into one value
// by net/http, as RFC 9112 §5.2 allows, and forwarded as one line: a Transfer-Encoding hidden
// in a continuation line never frames anything.
func TestObsFoldIsOneLine(t *testing.T) {
	up := startRawUpstream(t)
	addr := startEdge(t, Options{}, proxy.New(up.ln.Addr().String(), proxy.Options{}))
	resps, _ := exchange(t, addr, "POST /first HTTP/1.1\r\nHost: gw\r\nX-A: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
	reqs := up.requests()
	if len(resps) != 1 || resps[0].status != 200 || len(reqs) != 1 {
		t.Fatalf("got %+v, upstream %q", resps, reqs)
	}
	if got := headerValue(reqs[0], "X-A"); got != "a Transfer-Encoding: chunked" {
		t.Errorf("X-A forwarded as %q", got)
	}
	for _, l := range reqs[0] {
		if l[0] == ' ' || l[0] == '\t' {
			t.Errorf("continuation line forwarded: %q", reqs[0])
		}
	}
	if headerValue(reqs[0], "Transfer-Encoding") != "" || headerValue(reqs[0], "Content-Length") != "5" {
		t.Errorf("framing forwarded: %q", reqs[0])
	}
}

// Issue #15: CONNECT was forwarded upstream as "CONNECT / HTTP/1.1". CONNECT and TRACE get 405
// in the JSON error shape at the edge, before any backend (here one that would serve them), on
// HTTP/1.1 and h2c, and are counted.
func TestRefusedMethods(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	var mu sync.Mutex
	var served []string
	addr := startEdge(t, Options{Metrics: m}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served = append(served, r.Method)
		mu.Unlock()
	}))
	for _, raw := range []string{
		"CONNECT upstream.example:443 HTTP/1.1\r\nHost: upstream.example:443\r\n\r\n",
		"CONNECT / HTTP/1.1\r\nHost: gw\r\n\r\n",
		"TRACE / HTTP/1.1\r\nHost: gw\r\nCookie: session=1\r\n\r\n",
	} {
		resps, _ := exchange(t, addr, raw+"GET /after HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
		if len(resps) != 2 {
			t.Fatalf("%q: got %+v", raw, resps)
		}
		r := resps[0]
		if r.status != 405 || r.header.Get("Allow") == "" || !strings.Contains(r.body, `"type":"invalid_request_error"`) || !strings.Contains(r.body, `"param":null,"code":null`) {
			t.Errorf("%q: got %d %v %s", raw, r.status, r.header, r.body)
		}
		if strings.Contains(r.body, "session=1") {
			t.Errorf("TRACE reflected the request: %s", r.body)
		}
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: &p}}
	req, _ := http.NewRequest(http.MethodTrace, "http://"+addr+"/", nil)
	resp, err := h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.ProtoMajor != 2 {
		t.Errorf("h2c TRACE: %d over %s", resp.StatusCode, resp.Proto)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(served, ",") != "GET,GET,GET" {
		t.Errorf("the backend served %v, want only the 3 GETs", served)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("", "", "405")); got != 4 {
		t.Errorf("requests{405} = %v, want 4", got)
	}
}
