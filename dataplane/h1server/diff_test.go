package h1server_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/h1server"
)

// diffHandler answers by path with the responses the differential cases need; its body shows
// what it saw of the request.
func diffHandler(w http.ResponseWriter, r *http.Request) {
	seen := func() string {
		var keys []string
		for k := range r.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s host=%q cl=%d te=%q close=%v remote=%v\n", r.Method, r.RequestURI, r.Proto, r.Host, r.ContentLength, r.TransferEncoding, r.Close, r.RemoteAddr != "")
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%q\n", k, r.Header[k])
		}
		return b.String()
	}
	switch r.URL.Path {
	case "/":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, seen())
	case "/echo":
		b, err := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s%d %q err=%v trailer=%q", seen(), len(b), b, err, r.Trailer)
	case "/sniff":
		io.WriteString(w, "<html><body>hi</body></html>")
	case "/flush":
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		io.WriteString(w, "b")
	case "/rcflush":
		rc := http.NewResponseController(w)
		w.WriteHeader(202)
		_ = rc.Flush()
		io.WriteString(w, "after")
	case "/large":
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(bytes.Repeat([]byte("0123456789abcdef"), 100<<10/16))
	case "/large-cl":
		w.Header().Set("Content-Length", "102400")
		w.Write(bytes.Repeat([]byte("x"), 100<<10))
	case "/mid":
		w.Write(bytes.Repeat([]byte("m"), 3000))
	case "/trailer":
		w.Header().Set("Trailer", "X-T, X-Bad, Content-Length")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "body")
		w.Header().Set("X-T", "t")
		w.Header().Set(http.TrailerPrefix+"X-U", "u")
	case "/1xx":
		w.Header().Set("Link", "</a>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "after hints")
	case "/panic":
		panic("boom")
	case "/abort":
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	case "/flushpanic":
		io.WriteString(w, "sent")
		w.(http.Flusher).Flush()
		panic("boom")
	case "/nothing":
	case "/204":
		w.Header().Set("Content-Length", "5")
		w.WriteHeader(http.StatusNoContent)
		io.WriteString(w, "nope")
	case "/304":
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Etag", `"x"`)
		w.WriteHeader(http.StatusNotModified)
	case "/short":
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "short")
	case "/badcl":
		w.Header().Set("Content-Length", "x")
		io.WriteString(w, "bad")
	case "/close":
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	case "/identity":
		w.Header().Set("Transfer-Encoding", "identity")
		io.WriteString(w, "id")
	case "/both":
		w.Header().Set("Transfer-Encoding", "chunked")
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "ab")
	case "/te":
		w.Header().Set("Transfer-Encoding", "chunked")
		io.WriteString(w, "te")
	case "/status":
		w.WriteHeader(599)
	case "/twice":
		w.WriteHeader(201)
		w.WriteHeader(202)
	case "/part":
		b := make([]byte, 3)
		n, _ := io.ReadFull(r.Body, b)
		fmt.Fprintf(w, "read %q", b[:n])
	case "/closebody":
		r.Body.Close()
		io.WriteString(w, "closed")
	case "/afterheader":
		w.Header().Set("X-Before", "1")
		w.WriteHeader(200)
		w.Header().Set("X-After", "1")
		io.WriteString(w, "x")
	case "/duplex":
		http.NewResponseController(w).EnableFullDuplex()
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d", len(b))
	case "/upgrade":
		if r.Header.Get("Upgrade") == "" {
			http.Error(w, "no upgrade", 400)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo: " + line)
		brw.Flush()
	default:
		http.NotFound(w, r)
	}
}

// newHTTPServer is configured as dataplane/server's newHTTPServer.
func newHTTPServer(h http.Handler, maxHeader int) *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           h,
		Protocols:         &p,
		MaxHeaderBytes:    maxHeader,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
}

type servePair struct{ std, fast string }

// startPair serves h with net/http and with h1server on two loopback listeners.
func startPair(t testing.TB, h http.Handler) servePair {
	t.Helper()
	lnStd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lnFast, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	std := newHTTPServer(h, 56<<10)
	fast := &h1server.Server{HTTP: newHTTPServer(h, 56<<10)}
	go std.Serve(lnStd)
	go fast.Serve(lnFast)
	t.Cleanup(func() {
		std.Close()
		fast.Close()
	})
	return servePair{std: lnStd.Addr().String(), fast: lnFast.Addr().String()}
}

var dateRe = regexp.MustCompile(`\r\nDate: [^\r]*\r\n`)

// sentinel ends a transcript: it is answered only if the connection is still open.
const sentinel = "GET /nothing HTTP/1.1\r\nHost: end\r\nConnection: close\r\n\r\n"

// exchange sends each part of a request stream on a new connection, reading what comes back
// until it stops for quiet, then the sentinel; it returns all the server wrote, Date values
// blanked.
func exchange(addr string, parts []string, quiet time.Duration) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	var out bytes.Buffer
	buf := make([]byte, 32<<10)
	eof := false
	readQuiet := func() {
		for !eof {
			_ = c.SetReadDeadline(time.Now().Add(quiet))
			n, err := c.Read(buf)
			out.Write(buf[:n])
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			if err != nil {
				eof = true
			}
		}
	}
	for _, p := range append(parts, sentinel) {
		if eof {
			break
		}
		if _, err := io.WriteString(c, p); err != nil {
			break
		}
		readQuiet()
	}
	if !eof {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c)
		out.Write(b)
	}
	return dateRe.ReplaceAllString(out.String(), "\r\nDate: X\r\n"), nil
}

func diffRequests() map[string][]string {
	get := "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"
	big := strings.Repeat("z", 300<<10)
	return map[string][]string{
		"get":                  {get},
		"get close":            {"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"},
		"get keep-alive":       {"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive\r\nX-A: 1\r\nx-a: 2\r\n\r\n"},
		"keep-alive sequence":  {get, get, "GET /sniff HTTP/1.1\r\nHost: a.test\r\n\r\n"},
		"pipelined":            {get + "GET /echo HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc" + get},
		"pipelined then close": {get + "GET /close HTTP/1.1\r\nHost: b\r\n\r\n" + get},
		"lf only":              {"GET / HTTP/1.1\nHost: a.test\n\n"},
		"post":                 {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"},
		"post in parts":        {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Len", "gth: 5\r\n\r\nhe", "llo"},
		"chunked":              {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Tr: v\r\n\r\n"},
		"chunked lowercase":    {"POST /echo HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get},
		"bad chunk size":       {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + get},
		"chunk no crlf":        {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n" + get},
		"cl and te":            {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: smuggled\r\n\r\n"},
		"te and cl":            {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: smuggled\r\n\r\n"},
		"te twice":             {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		"te list":              {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
		"te gzip":              {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"},
		"te identity":          {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nab"},
		"te space":             {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"},
		"te vtab":              {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \vchunked\r\n\r\n0\r\n\r\n"},
		"cl twice same":        {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab"},
		"cl twice differ":      {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"},
		"cl list":              {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nab"},
		"cl negative":          {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"},
		"cl plus":              {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\nab"},
		"cl hex":               {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0x2\r\n\r\nab"},
		"cl huge":              {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nab"},
		"cl short body":        {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab"},
		"no host":              {"GET / HTTP/1.1\r\n\r\n"},
		"empty host":           {"GET / HTTP/1.1\r\nHost:\r\n\r\n"},
		"two hosts":            {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		"bad host":             {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"},
		"bad host char":        {"GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n"},
		"host with port":       {"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"},
		"absolute uri":         {"GET http://other.test/x HTTP/1.1\r\nHost: a\r\n\r\n"},
		"absolute no host":     {"GET http://other.test/x HTTP/1.1\r\n\r\n"},
		"options star":         {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"},
		"connect":              {"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n"},
		"bad name":             {"GET / HTTP/1.1\r\nHost: a\r\nFo o: x\r\n\r\n"},
		"bad name char":        {"GET / HTTP/1.1\r\nHost: a\r\nFoo\x01: x\r\n\r\n"},
		"bad name utf8":        {"GET / HTTP/1.1\r\nHost: a\r\nFö: x\r\n\r\n"},
		"bad value nul":        {"GET / HTTP/1.1\r\nHost: a\r\nFoo: a\x00b\r\n\r\n"},
		"bad value cr":         {"GET / HTTP/1.1\r\nHost: a\r\nFoo: a\rb\r\n\r\n"},
		"value del":            {"GET / HTTP/1.1\r\nHost: a\r\nFoo: a\x7fb\r\n\r\n"},
		"value utf8":           {"GET / HTTP/1.1\r\nHost: a\r\nFoo: é\r\n\r\n"},
		"no colon":             {"GET / HTTP/1.1\r\nHost: a\r\nFoo\r\n\r\n"},
		"empty name":           {"GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n"},
		"obs-fold":             {"GET / HTTP/1.1\r\nHost: a\r\nFoo: a\r\n b\r\n\r\n"},
		"first line fold":      {"GET / HTTP/1.1\r\n Host: a\r\n\r\n"},
		"header 5k":            {"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 5000) + "\r\n\r\n"},
		"header 70k":           {"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 70000) + "\r\n\r\n"},
		"http/1.0":             {"GET / HTTP/1.0\r\nHost: a\r\n\r\n"},
		"http/1.0 keep-alive":  {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
		"http/0.9":             {"GET /\r\n\r\n"},
		"http/1.2":             {"GET / HTTP/1.2\r\nHost: a\r\n\r\n"},
		"http/2.0":             {"GET / HTTP/2.0\r\nHost: a\r\n\r\n"},
		"lower proto":          {"GET / http/1.1\r\nHost: a\r\n\r\n"},
		"two spaces":           {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"},
		"space in target":      {"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"},
		"bad method":           {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n"},
		"lower method":         {"get / HTTP/1.1\r\nHost: a\r\n\r\n"},
		"garbage":              {"\x16\x03\x01\x00\xa5garbage\r\n\r\n"},
		"leading crlf":         {"\r\n" + get},
		"cut head":             {"GET / HTTP/1.1\r\nHost: a\r\n"},
		"nothing":              {""},
		"h2c preface":          {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		"h2c upgrade":          {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"},
		"expect continue":      {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n", "ab"},
		"expect other":         {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: foo\r\n\r\nab"},
		"upgrade":              {"GET /upgrade HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", "ping\n"},
		"connection other":     {"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-foo\r\nX-Foo: 1\r\n\r\n"},
		"unread small":         {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789" + get},
		"unread large":         {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + fmt.Sprint(len(big)) + "\r\n\r\n" + big},
		"unread chunked":       {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get},
		"unread large chunked": {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big)},
		"part read":            {"POST /part HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabcdef" + get},
		"close body":           {"POST /closebody HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabcdef" + get},
		"close large body":     {"POST /closebody HTTP/1.1\r\nHost: a\r\nContent-Length: " + fmt.Sprint(len(big)) + "\r\n\r\n" + big},
		"duplex":               {"POST /duplex HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabcdef" + get},
		"head":                 {"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n" + get},
		"head large":           {"HEAD /large HTTP/1.1\r\nHost: a\r\n\r\n" + get},
		"head large-cl":        {"HEAD /large-cl HTTP/1.1\r\nHost: a\r\n\r\n" + get},
		"head nothing":         {"HEAD /nothing HTTP/1.1\r\nHost: a\r\n\r\n" + get},
		"query":                {"GET /?a=1;b=2&c=%zz HTTP/1.1\r\nHost: a\r\n\r\n"},
		"encoded path":         {"GET /%2e%2e/%2F?x HTTP/1.1\r\nHost: a\r\n\r\n"},
		"trace":                {"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n"},
		"post then crlf":       {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab\r\n" + get},
		"post then crlf late":  {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab\r\n", "\r\n" + get},
		"post then 3 crlf":     {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab\r\n\r\n\r\n" + get},
		"post then cr only":    {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab\r\n"},
		"get then crlf":        {get + "\r\n" + get},
	}
}

func diffPaths() []string {
	return []string{"/sniff", "/flush", "/rcflush", "/large", "/large-cl", "/mid", "/trailer", "/1xx", "/panic", "/abort", "/flushpanic",
		"/nothing", "/204", "/304", "/short", "/badcl", "/close", "/identity", "/both", "/te", "/status", "/twice", "/afterheader", "/missing"}
}

// TestMatchesNetHTTP sends the same raw requests to net/http's server and to h1server over
// loopback, the same handler behind both, and compares every byte they write back (Date
// blanked) and whether the connection stays open (the sentinel request's answer).
func TestMatchesNetHTTP(t *testing.T) {
	p := startPair(t, http.HandlerFunc(diffHandler))
	cases := diffRequests()
	for _, path := range diffPaths() {
		cases["path "+path] = []string{"GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"}
		cases["path "+path+" twice"] = []string{"GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\nGET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"}
	}
	for name, parts := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, err := exchange(p.std, parts, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			got, err := exchange(p.fast, parts, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("request %.300q\nh1server %.2000q\nnet/http %.2000q", strings.Join(parts, ""), got, want)
			}
		})
	}
}
