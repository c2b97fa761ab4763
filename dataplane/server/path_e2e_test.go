package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/dataplane/router"
	"github.com/infergw/gwctl/dataplane/server"
	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
)

// pathRoutes are a public "/" route and an "/auth" route to the same Service, an Exact route
// and a rewriting route; each names itself to the upstream in X-Route.
const pathRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: routes, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Route, value: pub}]}}]
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /auth}}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Route, value: auth}]}}]
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: Exact, value: /exact}}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Route, value: exact}]}}]
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /rw}}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Route, value: rw}]}}
    - {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}}
    backendRefs: [{name: app, port: 80}]
`

// recordingUpstream answers 200 and reports the route and the request target it received.
func recordingUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Route", r.Header.Get("X-Route"))
		w.Header().Set("X-Seen-URI", r.RequestURI)
		w.Header().Set("X-Seen-Escaped", r.URL.EscapedPath())
		w.Header().Set("X-Seen-Path", url.PathEscape(r.URL.Path)) // header-safe
		w.Header().Set("X-Seen-Authorization", r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "upstream")
	}))
	t.Cleanup(up.Close)
	return up
}

// startPathGateway serves pathRoutes with every backend proxied to up, and returns the
// gateway's address and its access log.
func startPathGateway(t *testing.T, up *httptest.Server) (string, *testenv.Buffer) {
	t.Helper()
	objs, err := manifest.Parse("routes.yaml", []byte(pathRoutes), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	cfg, fs := gateway.Compile(objs, gateway.Options{})
	if finding.HasErrors(fs, false) {
		t.Fatalf("findings: %v", fs)
	}
	hs := map[string]http.Handler{}
	for id := range cfg.Backends {
		hs[id] = proxy.New(strings.TrimPrefix(up.URL, "http://"), proxy.Options{})
	}
	tb, err := router.New(cfg, router.Options{Backends: hs})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	s := server.New(server.Options{AccessLog: slog.New(slog.NewJSONHandler(logs, nil)), ShutdownTimeout: time.Second})
	s.Swap(tb, nil)
	return serveLoopback(t, s), logs
}

func serveLoopback(t *testing.T, s *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// rawGet writes the request line itself, so the target reaches the gateway byte for byte.
func rawGet(t *testing.T, addr, target string, hdr ...string) *http.Response {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + target + " HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n"
	for i := 0; i+1 < len(hdr); i += 2 {
		req += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// h2cGet sends target as the :path of an HTTP/2 cleartext request, unchanged. A nil response
// means the stream was refused below HTTP (RST_STREAM).
func h2cGet(t *testing.T, c *http.Client, addr, target string, hdr ...string) *http.Response {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: addr, Opaque: target}
	if strings.HasPrefix(target, "//") { // an Opaque "//x" would be read as an authority
		p, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatal(err)
		}
		u = &url.URL{Scheme: "http", Host: addr, Path: p.Path, RawPath: p.RawPath, RawQuery: p.RawQuery}
	}
	req := &http.Request{Method: "GET", URL: u, Host: "gw", Header: http.Header{}}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("%q: served over %s, not h2c", target, resp.Proto)
	}
	return resp
}

func h2cClient(t *testing.T) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// Every request target is normalised before routing, the route is chosen on the normal form,
// and the upstream receives exactly that form (query untouched); what cannot be normalised
// without guessing is refused with 400.
func TestPathNormalizationOverLoopback(t *testing.T) {
	up := recordingUpstream(t)
	addr, logs := startPathGateway(t, up)
	h2 := h2cClient(t)

	const refused = "400"
	cases := []struct {
		h2     bool
		target string
		route  string // the route that served it, or "400"
		uri    string // what the upstream received as its request target
	}{
		{false, "/", "pub", "/"},
		{false, "/auth/x", "auth", "/auth/x"},
		{false, "/authx", "pub", "/authx"},
		// merged slashes
		{false, "//auth/x", "auth", "/auth/x"},
		{false, "///auth//x///", "auth", "/auth/x/"},
		// dot segments, raw and encoded
		{false, "/./auth/x", "auth", "/auth/x"},
		{false, "/x/../auth/x", "auth", "/auth/x"},
		{false, "/pub/%2e%2e/auth/x", "auth", "/auth/x"},
		{false, "/pub/%2E%2E/auth/x", "auth", "/auth/x"},
		{false, "/pub/.%2e/auth/x", "auth", "/auth/x"},
		{false, "/%2e/auth/x", "auth", "/auth/x"},
		{false, "/../auth/x", "auth", "/auth/x"},
		{false, "/../../../auth/x", "auth", "/auth/x"},
		{false, "/auth/x/..", "auth", "/auth/"},
		{false, "/auth/..", "pub", "/"},
		{false, "/auth/x/.", "auth", "/auth/x/"},
		{false, "/auth/x/", "auth", "/auth/x/"},
		{false, "/...", "pub", "/..."},
		// encoded slash, backslash, NUL, controls, malformed escapes
		{false, "/%2fauth/x", refused, ""},
		{false, "/%2Fauth/x", refused, ""},
		{false, "/auth%2fx", refused, ""},
		{false, "/%5cauth/x", refused, ""},
		{false, `/\auth/x`, refused, ""},
		{false, `/pub\..\auth/x`, refused, ""},
		{false, "/auth/x%00", refused, ""},
		{false, "/auth/%0ax", refused, ""},
		{false, "/auth/x%7f", refused, ""},
		{false, "/%zz/auth", refused, ""},
		{false, "/auth/%4", refused, ""},
		{false, "*", refused, ""},
		// unreserved escapes decoded, the rest kept with upper-case hex
		{false, "/%61uth/x", "auth", "/auth/x"},
		{false, "/%41uth/x", "pub", "/Auth/x"},
		{false, "/auth/%7euser", "auth", "/auth/~user"},
		{false, "/auth/a%3fb", "auth", "/auth/a%3Fb"},
		{false, "/auth/a%3Fb?q=1", "auth", "/auth/a%3Fb?q=1"},
		{false, "/auth/%c3%a9", "auth", "/auth/%C3%A9"},
		{false, "/auth/a%20b", "auth", "/auth/a%20b"},
		{false, "/auth/a%25b", "auth", "/auth/a%25b"},
		{false, "/./auth/x?a=%2e%2e&b=//c", "auth", "/auth/x?a=%2e%2e&b=//c"},
		// ;params: segment data, forwarded as matched; they belong to their path element
		{false, "/auth;x/y", "auth", "/auth;x/y"},
		{false, "/auth;jsessionid=1", "auth", "/auth;jsessionid=1"},
		{false, "/auth%3Bx/y", "auth", "/auth%3Bx/y"},
		{false, "/pub;x/y", "pub", "/pub;x/y"},
		{false, "/exact;v=1", "exact", "/exact;v=1"},
		{false, "/exact;v=1/x", "pub", "/exact;v=1/x"},
		{false, "/pub/..;/auth/x", refused, ""},
		{false, "/;x/auth/x", refused, ""},
		{false, "/pub/.;x/auth", refused, ""},
		{false, "/pub/%2e%2e;/auth/x", refused, ""},
		// Exact and rewrite see and forward the normal form
		{false, "/./exact", "exact", "/exact"},
		{false, "/rw//a%3bb/./c", "rw", "/v2/a%3Bb/c"},
		{false, "/pub/../rw/%7e", "rw", "/v2/~"},
		// absolute-form request targets
		{false, "http://gw//auth/x", "auth", "/auth/x"},
		{false, "http://gw/pub/%2e%2e/auth/x?q=1", "auth", "/auth/x?q=1"},
		{false, "http://gw", "pub", "/"},
		// HTTP/2 cleartext
		{true, "/auth/x", "auth", "/auth/x"},
		{true, "//auth/x", "auth", "/auth/x"},
		{true, "/x/../auth/x", "auth", "/auth/x"},
		{true, "/pub/%2e%2e/auth/x", "auth", "/auth/x"},
		{true, "/%61uth/%3f?q=%2e", "auth", "/auth/%3F?q=%2e"},
		{true, "/auth;x/y", "auth", "/auth;x/y"},
		{true, "/rw/%2e/a", "rw", "/v2/a"},
		{true, "/%2fauth/x", refused, ""},
		{true, "/%5Cauth/x", refused, ""},
		{true, "/auth/x%00", refused, ""},
		{true, "/pub/..;/auth/x", refused, ""},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		name := tc.target
		if tc.h2 {
			name = "h2c " + name
		}
		t.Run(name, func(t *testing.T) {
			var resp *http.Response
			if tc.h2 {
				resp = h2cGet(t, h2, addr, tc.target)
			} else {
				resp = rawGet(t, addr, tc.target)
			}
			got := fmt.Sprintf("%d route=%s uri=%s", resp.StatusCode, resp.Header.Get("X-Seen-Route"), resp.Header.Get("X-Seen-URI"))
			want := "200 route=" + tc.route + " uri=" + tc.uri
			if tc.route == refused {
				want = "400 route= uri="
			}
			if got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
			if tc.route == refused {
				return
			}
			// Path and escaped path forwarded are the normal form, not only the request line.
			esc, _, _ := strings.Cut(tc.uri, "?")
			dec, _ := url.PathUnescape(esc)
			if e, p := resp.Header.Get("X-Seen-Escaped"), resp.Header.Get("X-Seen-Path"); e != esc || p != url.PathEscape(dec) {
				t.Fatalf("upstream saw escaped path %q, path %q; want %q", e, p, esc)
			}
		})
	}

	// A :path Go's HTTP/2 server cannot parse is refused below HTTP, with RST_STREAM (Go's
	// client would retry that until its timeout, so the frames are written by hand).
	for _, p := range []string{"/%zz/auth", "/auth/%4"} {
		if got := h2cRawStatus(t, addr, p); got != "reset" {
			t.Errorf("h2c %s: %s, want the stream reset", p, got)
		}
	}
	for p, want := range map[string]string{"/pub/%2e%2e/auth/x": "200", "/%2fauth/x": "400", `/\auth`: "400"} {
		if got := h2cRawStatus(t, addr, p); got != want {
			t.Errorf("h2c raw frames %s: %s, want %s", p, got, want)
		}
	}
	// The access log records the path that was routed (its line may follow the response).
	rawGet(t, addr, "/pub/%2e%2e/auth//logged")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), `"path":"/auth/logged"`); {
		if time.Now().After(deadline) {
			t.Fatalf("access log lacks the normalised path:\n%s", logs)
		}
		time.Sleep(time.Millisecond) // polling for the line, bounded by the deadline
	}
}

// h2cRawStatus sends one GET with :path p over a prior-knowledge h2c connection, framed by
// hand (HPACK literals, no Huffman), and returns the response's :status ("200", "400",
// "other") or "reset" when the server answered RST_STREAM.
func h2cRawStatus(t *testing.T, addr, p string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	frame := func(typ, flags byte, stream uint32, payload []byte) []byte {
		n := len(payload)
		return append([]byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags,
			byte(stream >> 24), byte(stream >> 16), byte(stream >> 8), byte(stream)}, payload...)
	}
	var block []byte
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "gw"}, {":path", p}} {
		block = append(block, 0, byte(len(f[0])))
		block = append(block, f[0]...)
		block = append(block, byte(len(f[1])))
		block = append(block, f[1]...)
	}
	out := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	out = append(out, frame(0x4, 0, 0, nil)...)     // SETTINGS
	out = append(out, frame(0x1, 0x5, 1, block)...) // HEADERS, END_STREAM|END_HEADERS
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i := 0; i < 16; i++ {
		var h [9]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("h2c %s: %v", p, err)
		}
		payload := make([]byte, int(h[0])<<16|int(h[1])<<8|int(h[2]))
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatalf("h2c %s: %v", p, err)
		}
		stream := uint32(h[5]&0x7f)<<24 | uint32(h[6])<<16 | uint32(h[7])<<8 | uint32(h[8])
		switch {
		case stream != 1:
		case h[3] == 0x3:
			return "reset"
		case h[3] == 0x1 && len(payload) > 0:
			// :status from the static table: 0x88 is 200, 0x8c is 400.
			switch payload[0] {
			case 0x88:
				return "200"
			case 0x8c:
				return "400"
			}
			return "other"
		}
	}
	t.Fatalf("h2c %s: no answer on stream 1", p)
	return ""
}
