package h1_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/h1"
	"github.com/infergw/gwctl/dataplane/proxy"
)

// Request bodies of the differential cases.
const (
	noBody     = iota
	memBody    // strings.Reader: known length, GetBody set (http.NewRequest)
	streamBody // unknown length (sent chunked), no GetBody
	fixedBody  // known length, not in memory, no GetBody
)

type reqSpec struct {
	method, path, body string
	kind               int
	close              bool
	header, trailer    map[string]string
}

func (s reqSpec) request(ctx context.Context, base string) *http.Request {
	var body io.Reader
	switch s.kind {
	case memBody:
		body = strings.NewReader(s.body)
	case streamBody, fixedBody:
		body = io.MultiReader(strings.NewReader(s.body))
	}
	req, err := http.NewRequestWithContext(ctx, s.method, base+s.path, body)
	if err != nil {
		panic(err)
	}
	if s.kind == fixedBody {
		req.ContentLength = int64(len(s.body))
	}
	req.Close = s.close
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	if s.trailer != nil {
		req.Trailer = http.Header{}
		for k, v := range s.trailer {
			req.Trailer.Set(k, v)
		}
	}
	return req
}

// outcome is what a client sees of one request.
type outcome struct {
	Status        int
	Proto         string
	Header        http.Header
	ContentLength int64
	Close         bool
	Body          string
	BodyErr       string
	Trailer       http.Header
	Got1xx        []string
	Err           string // the error's proxy.Classify cause
	ErrText       string // its text, when it names no address
}

func text(err error) string {
	if err == nil || strings.Contains(err.Error(), "127.0.0.1") {
		return ""
	}
	return err.Error()
}

func do(rt http.RoundTripper, base string, s reqSpec) outcome {
	var o outcome
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			o.Got1xx = append(o.Got1xx, fmt.Sprint(code, h))
			return nil
		},
	})
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := rt.RoundTrip(s.request(ctx, base))
	if err != nil {
		o.Err, o.ErrText = string(proxy.Classify(ctx, err)), text(err)
		return o
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Header.Del("Date")
	o.Status, o.Proto, o.Header, o.ContentLength, o.Close = res.StatusCode, res.Proto, res.Header, res.ContentLength, res.Close
	o.Body, o.Trailer = string(b), res.Trailer
	if err != nil {
		o.BodyErr = string(proxy.Classify(ctx, err)) + " " + text(err)
	}
	return o
}

const (
	okReply      = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello"
	chunkedReply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\nContent-Type: text/event-stream\r\n\r\n" +
		"5\r\nhello\r\n7\r\n, world\r\n0\r\nX-T: done\r\nX-U: late\r\n\r\n"
)

func always(out string, closeAfter bool) reply {
	return func(int, int, *http.Request) (string, bool) { return out, closeAfter }
}

// staleSecond answers every request but closes its first connection, unanswered, when the second
// request arrives on it: the server closed a kept-alive connection as the client reused it.
func staleSecond(c, n int, _ *http.Request) (string, bool) {
	if c == 0 && n == 1 {
		return "", true
	}
	return okReply, false
}

type diffCase struct {
	name  string
	reqs  []reqSpec
	reply reply
	early bool
	// racy: the connections and the bytes the upstream gets may differ, as between two runs of
	// net/http (whether the body's write ends within the 50 ms both wait before reusing the
	// connection).
	racy bool
	// settle: before each request the upstream has closed the connections it means to close.
	settle bool
	// idleRace: what net/http does with the later requests depends on whether its connection's
	// reader goroutine has seen what the upstream did to the idle connection (closed it, sent
	// bytes unasked) before the next request takes it; under the race detector it often has not.
	// net/http's first answer is compared; h1's later ones must equal it, each on a connection
	// of its own (h1 looks at the idle connection before reusing it).
	idleRace bool
}

func diffCases() []diffCase {
	get := reqSpec{method: "GET", path: "/a?b=c"}
	twice := func(s reqSpec) []reqSpec { return []reqSpec{s, s} }
	big := strings.Repeat("x", 1<<20)
	return []diffCase{
		{name: "content-length", reqs: twice(get), reply: always(okReply, false)},
		{name: "chunked with trailers", reqs: twice(get), reply: always(chunkedReply, false)},
		{name: "close-delimited", reqs: twice(get), reply: always("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true)},
		{name: "head", reqs: twice(reqSpec{method: "HEAD", path: "/"}), reply: always("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", false)},
		{name: "204", reqs: twice(get), reply: always("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", false)},
		{name: "304", reqs: twice(get), reply: always("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nEtag: \"x\"\r\n\r\n", false)},
		{name: "1xx then 200", reqs: twice(get), reply: always("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"+
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"+okReply, false)},
		{name: "101 not asked for", reqs: []reqSpec{get}, reply: always("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n", true)},
		{name: "server Connection: close", reqs: twice(get), reply: always("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true)},
		{name: "client Connection: close", reqs: twice(reqSpec{method: "GET", path: "/", close: true}), reply: always(okReply, false)},
		{name: "HTTP/1.0 reply", reqs: twice(get), reply: always("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false)},
		{name: "unsolicited bytes after the reply", reqs: twice(get), reply: always(okReply+"HTTP/1.1 408 x\r\n\r\n", false), idleRace: true},
		{name: "short body then close", reqs: twice(get), reply: always("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true)},
		{name: "bad chunk", reqs: []reqSpec{get}, reply: always("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true)},
		{name: "malformed status line", reqs: []reqSpec{get}, reply: always("HTTP/1.1 abc OK\r\n\r\n", true)},
		{name: "malformed header", reqs: []reqSpec{get}, reply: always("HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n", true)},
		{name: "no reply", reqs: []reqSpec{get}, reply: always("", true)},
		{name: "huge header", reqs: []reqSpec{get}, reply: always("HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("a", 10<<20+1)+"\r\n\r\n", true)},
		{name: "header at the limit", reqs: twice(get), reply: always("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: "+strings.Repeat("a", 10<<20-60)+"\r\n\r\n", false)},
		{name: "post in memory", reqs: twice(reqSpec{method: "POST", path: "/v1", body: `{"model":"m"}`, kind: memBody,
			header: map[string]string{"Content-Type": "application/json", "User-Agent": ""}}), reply: always(okReply, false)},
		{name: "post streamed with trailers", reqs: twice(reqSpec{method: "POST", path: "/", body: "some body", kind: streamBody,
			trailer: map[string]string{"X-Sum": "1"}}), reply: always(chunkedReply, false)},
		{name: "post fixed length, not in memory", reqs: twice(reqSpec{method: "PUT", path: "/", body: "0123456789", kind: fixedBody}), reply: always(okReply, false)},
		{name: "post 1 MiB in memory", reqs: twice(reqSpec{method: "POST", path: "/", body: big, kind: memBody}), reply: always(okReply, false)},
		{name: "reply before the body is read", reqs: twice(reqSpec{method: "POST", path: "/", body: big, kind: streamBody}),
			reply: always("HTTP/1.1 413 Too Large\r\nContent-Length: 5\r\n\r\nearly", false), early: true, racy: true},
		{name: "idle conn closed by the server, POST not replayable", reqs: twice(reqSpec{method: "POST", path: "/", body: "b", kind: fixedBody}),
			reply: func(c, n int, _ *http.Request) (string, bool) { return okReply, c == 0 }, settle: true, idleRace: true},
		{name: "stale conn, GET retried once", reqs: twice(get), reply: staleSecond},
		{name: "stale conn, POST not retried", reqs: twice(reqSpec{method: "POST", path: "/", body: "b", kind: memBody}), reply: staleSecond},
		{name: "stale conn, idempotent POST retried", reqs: twice(reqSpec{method: "POST", path: "/", body: "b", kind: memBody,
			header: map[string]string{"Idempotency-Key": "k"}}), reply: staleSecond},
		{name: "stale conn, idempotent body not replayable", reqs: twice(reqSpec{method: "PUT", path: "/", body: "b", kind: fixedBody,
			header: map[string]string{"Idempotency-Key": "k"}}), reply: staleSecond},
		{name: "stale conn, GET without a body retried", reqs: twice(reqSpec{method: "DELETE", path: "/", header: map[string]string{"X-Idempotency-Key": "k"}}), reply: staleSecond},
	}
}

// TestMatchesNetHTTP: for each sequence of requests, h1 and net/http's Transport (configured
// alike) return the same responses (status, headers, body, trailers, 1xx seen) or errors of the
// same cause and text, send the upstream the same bytes, and use as many connections.
func TestMatchesNetHTTP(t *testing.T) {
	for _, tc := range diffCases() {
		t.Run(tc.name, func(t *testing.T) {
			type run struct {
				out      []outcome
				accepts  int
				received string
			}
			exercise := func(rt http.RoundTripper) run {
				up := newRawUpstream(t, tc.reply, func(u *rawUpstream) { u.early = tc.early })
				var r run
				for i, s := range tc.reqs {
					if i > 0 {
						// The previous connection closed by the server is seen closed (as
						// net/http's reader sees it at once) before the next request.
						prev := r.out[i-1]
						if prev.Close || prev.Err != "" || tc.settle {
							waitFor(t, 5*time.Second, "upstream connections closed", func() bool { _, open, _ := up.stats(); return open == 0 })
						}
					}
					r.out = append(r.out, do(rt, up.URL(), s))
				}
				if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
					c.CloseIdleConnections()
				}
				waitFor(t, 5*time.Second, "upstream connections closed", func() bool { _, open, _ := up.stats(); return open == 0 })
				r.accepts, _, r.received = up.stats()
				r.received = strings.ReplaceAll(r.received, strings.TrimPrefix(up.URL(), "http://"), "UPSTREAM")
				return r
			}
			want := exercise(proxy.NewTransport())
			got := exercise(h1.New(proxy.NewTransport()))
			if tc.idleRace {
				if !reflect.DeepEqual(got.out[0], want.out[0]) {
					t.Errorf("request 0:\nh1       %+v\nnet/http %+v", short(got.out[0]), short(want.out[0]))
				}
				for i := 1; i < len(got.out); i++ {
					if !reflect.DeepEqual(got.out[i], got.out[0]) {
						t.Errorf("h1's request %d: %+v, want the same answer as the first: %+v", i, short(got.out[i]), short(got.out[0]))
					}
				}
				if got.accepts != len(tc.reqs) {
					t.Errorf("h1 used %d connections for %d requests, want a new one for each", got.accepts, len(tc.reqs))
				}
				return
			}
			for i := range want.out {
				if !reflect.DeepEqual(got.out[i], want.out[i]) {
					t.Errorf("request %d:\nh1       %+v\nnet/http %+v", i, short(got.out[i]), short(want.out[i]))
				}
			}
			if tc.racy {
				return
			}
			if got.received != want.received {
				t.Errorf("the upstream received (h1, %d bytes):\n%.600q\nnet/http (%d bytes):\n%.600q", len(got.received), got.received, len(want.received), want.received)
			}
			if got.accepts != want.accepts {
				t.Errorf("connections: h1 %d, net/http %d", got.accepts, want.accepts)
			}
		})
	}
}

func short(o outcome) outcome {
	for k, vv := range o.Header {
		for i, v := range vv {
			if len(v) > 80 {
				o.Header[k][i] = v[:80] + "…"
			}
		}
	}
	return o
}

// TestRetryOnce: a request on a connection the server closed is sent again once, on a new
// connection; when that one fails before an answer too, the error is returned.
func TestRetryOnce(t *testing.T) {
	up := newRawUpstream(t, func(c, n int, _ *http.Request) (string, bool) {
		if c == 0 && n == 0 {
			return okReply, false
		}
		return "", true // every later request: closed unanswered
	})
	tr := h1.New(proxy.NewTransport())
	defer tr.CloseIdleConnections()
	get := reqSpec{method: "GET", path: "/"}
	if o := do(tr, up.URL(), get); o.Status != 200 {
		t.Fatalf("first request: %+v", o)
	}
	o := do(tr, up.URL(), get)
	if o.Err != string(proxy.CauseProtocol) {
		t.Fatalf("second request: %+v, want a protocol error", o)
	}
	accepts, _, received := up.stats()
	if accepts != 2 || strings.Count(received, "GET / HTTP/1.1") != 3 {
		t.Errorf("accepts %d, requests received %d; want 2 connections and 3 requests (one retry)", accepts, strings.Count(received, "GET / HTTP/1.1"))
	}
}
