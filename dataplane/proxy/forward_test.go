package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// seen is what one side of a proxied exchange saw, in a comparable form.
type seen struct {
	Upstream string // the request as the upstream received it
	Client   string // the response as the client received it, 1xx responses included
}

// exchangeUpstream answers by the request's path: trailers, 103 hints, streams, 101, sizes.
func exchangeUpstream(t *testing.T, got *string, mu *sync.Mutex) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s host=%s len=%d te=%v\n", r.Method, r.RequestURI, r.Proto, r.Host, r.ContentLength, r.TransferEncoding)
		writeHeader(&b, r.Header)
		fmt.Fprintf(&b, "body=%q trailer=%v\n", body, r.Trailer)
		mu.Lock()
		*got = b.String()
		mu.Unlock()
		h := w.Header()
		h.Set("Connection", "X-Hop")
		h.Set("X-Hop", "dropped")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("X-Kept", "a")
		h.Add("X-Kept", "b")
		switch strings.TrimPrefix(r.URL.Path, "/") {
		case "hints":
			h.Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			h.Del("Link")
			_, _ = io.WriteString(w, "after hints")
		case "trailers":
			h.Set("Trailer", "X-Sum")
			_, _ = io.WriteString(w, strings.Repeat("t", 5000))
			w.(http.Flusher).Flush()
			h.Set("X-Sum", "42")
			h.Set(http.TrailerPrefix+"X-Late", "unannounced")
		case "stream":
			h.Set("Content-Type", "text/event-stream; charset=utf-8")
			for i := range 3 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				w.(http.Flusher).Flush()
			}
		case "big":
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(bytes.Repeat([]byte("x"), 100<<10))
		case "nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "switch":
			h.Set("Connection", "Upgrade")
			h.Set("Upgrade", "websocket")
			w.WriteHeader(http.StatusSwitchingProtocols)
		case "status":
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "short")
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
}

func writeHeader(b *strings.Builder, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		if k != "Date" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s: %q\n", k, h[k])
	}
}

// TestForwarderMatchesReverseProxy: for each request, the upstream sees the same request and the
// client the same response (1xx, status, headers, body, trailers) through the forwarder as
// through httputil.ReverseProxy (GWCTL_NOFAST=proxy), both behind a real server.
func TestForwarderMatchesReverseProxy(t *testing.T) {
	var mu sync.Mutex
	var upSeen string
	up := httptest.NewServer(exchangeUpstream(t, &upSeen, &mu))
	defer up.Close()
	gw := httptest.NewServer(New(strings.TrimPrefix(up.URL, "http://"), Options{}))
	defer gw.Close()
	big := strings.Repeat("b", 100<<10)
	type request struct {
		name, method, path, body string
		header                   map[string]string
		chunked                  bool
		// framing: the client's response framing may differ. A short stream that the forwarder
		// reads whole in one read is never flushed, so net/http sends it with a Content-Length.
		framing bool
	}
	cases := []request{
		{name: "plain get", method: "GET", path: "/"},
		{name: "hop-by-hop and forwarding headers", method: "GET", path: "/a/b?x=1&y=2", header: map[string]string{
			"Connection": "keep-alive, X-Listed", "X-Listed": "gone", "Proxy-Connection": "keep-alive", "Te": "trailers, deflate",
			"Proxy-Authorization": "Basic eA==", "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil", "Forwarded": "for=6.6.6.6",
			"X-Real-Ip": "6.6.6.6", "X-Envoy-Retry-On": "5xx", "X-Original-Url": "/admin", "X-Request-Id": "rid", "Authorization": "Bearer k"}},
		{name: "no user agent", method: "GET", path: "/", header: map[string]string{"User-Agent": ""}},
		{name: "escaped path", method: "GET", path: "/a%2Fb/c%20d?q=a+b"},
		{name: "query the proxy re-encodes", method: "GET", path: "/q?a=1;b=2&c=%zz"},
		{name: "small body", method: "POST", path: "/", body: `{"model":"m"}`, header: map[string]string{"Content-Type": "application/json"}},
		{name: "large body", method: "POST", path: "/", body: big},
		{name: "chunked body", method: "POST", path: "/", body: "chunked body", chunked: true},
		{name: "empty post", method: "POST", path: "/"},
		{name: "early hints", method: "GET", path: "/hints"},
		{name: "trailers", method: "GET", path: "/trailers"},
		{name: "event stream", method: "POST", path: "/stream", body: "{}", framing: true},
		{name: "chunked 100 KiB response", method: "GET", path: "/big"},
		{name: "no content", method: "DELETE", path: "/nocontent"},
		{name: "status and short body", method: "GET", path: "/status"},
		{name: "switch not asked for", method: "GET", path: "/switch"},
		{name: "head", method: "HEAD", path: "/big"},
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	run := func(rq request) seen {
		var body io.Reader
		if rq.body != "" {
			body = strings.NewReader(rq.body)
			if rq.chunked {
				body = io.MultiReader(body) // unknown length: sent chunked
			}
		}
		req, err := http.NewRequest(rq.method, gw.URL+rq.path, body)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range rq.header {
			req.Header.Set(k, v)
		}
		var b strings.Builder
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				fmt.Fprintf(&b, "1xx %d\n", code)
				writeHeader(&b, http.Header(h))
				return nil
			},
		}))
		mu.Lock()
		upSeen = ""
		mu.Unlock()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", rq.name, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rq.framing {
			resp.Header.Del("Content-Length")
			fmt.Fprintf(&b, "%d\n", resp.StatusCode)
		} else {
			fmt.Fprintf(&b, "%d len=%d te=%v\n", resp.StatusCode, resp.ContentLength, resp.TransferEncoding)
		}
		writeHeader(&b, resp.Header)
		fmt.Fprintf(&b, "body=%d:%.40q trailer=%v\n", len(got), got, resp.Trailer)
		mu.Lock()
		defer mu.Unlock()
		return seen{Upstream: upSeen, Client: b.String()}
	}
	defer func(was bool) { fastForward = was }(fastForward)
	for _, rq := range cases {
		fastForward = false
		want := run(rq)
		fastForward = true
		got := run(rq)
		if got.Upstream != want.Upstream {
			t.Errorf("%s: upstream saw, forwarder:\n%s\nReverseProxy:\n%s", rq.name, got.Upstream, want.Upstream)
		}
		if got.Client != want.Client {
			t.Errorf("%s: client saw, forwarder:\n%s\nReverseProxy:\n%s", rq.name, got.Client, want.Client)
		}
	}
}

// TestStreamHeadAndEvents: a stream's head reaches the client while the upstream waits before
// its first event (within headFlushDelay), and each event before the upstream sends the next.
func TestStreamHeadAndEvents(t *testing.T) {
	step := make(chan struct{})
	var failed sync.Map
	wait := func(what string) {
		select {
		case <-step:
		case <-time.After(5 * time.Second):
			failed.Store(what, true)
		}
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		wait("the head")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			wait(fmt.Sprintf("event %d", i))
		}
	}))
	defer up.Close()
	gw := httptest.NewServer(New(strings.TrimPrefix(up.URL, "http://"), Options{}))
	defer gw.Close()
	resp, err := http.Post(gw.URL+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	next := func(what string) {
		select {
		case step <- struct{}{}:
		case <-time.After(5 * time.Second):
			t.Fatalf("the upstream no longer waits: %s came late", what)
		}
	}
	next("the head") // it arrived without any event
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		_, _ = br.ReadString('\n')
		next(fmt.Sprintf("event %d", i))
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("after the events: %q", rest)
	}
	failed.Range(func(k, _ any) bool {
		t.Errorf("%s did not reach the client before the upstream went on", k)
		return true
	})
}

// flushCounter counts Flush calls.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushCounter) Flush() { f.flushes++; f.ResponseRecorder.Flush() }

// TestStreamEndNotFlushed: a stream that arrives whole is written with the response's end: no
// flush of the head alone, none of the last bytes (the ReverseProxy flushes both).
func TestStreamEndNotFlushed(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: 1\n\ndata: 2\n\n") // sent whole when the handler returns
	}))
	defer up.Close()
	h := New(strings.TrimPrefix(up.URL, "http://"), Options{})
	defer func(was bool) { fastForward = was }(fastForward)
	for _, fast := range []bool{true, false} {
		fastForward = fast
		w := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Body.String() != "data: 1\n\ndata: 2\n\n" {
			t.Fatalf("fast=%v: body %q", fast, w.Body)
		}
		if fast && w.flushes != 0 {
			t.Errorf("forwarder flushed %d times", w.flushes)
		}
		if !fast && w.flushes == 0 {
			t.Errorf("ReverseProxy did not flush: the test no longer shows a difference")
		}
	}
}
