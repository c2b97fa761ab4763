// Package llmtest is the HTTP plumbing the fake providers of tests share (anthropictest,
// geminitest): a loopback server, a queue of replies, the requests received, and replies written
// whole or as an event stream. Each fake checks what it receives against its own provider's
// published shape.
package llmtest

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Reply is one answer of a fake upstream.
type Reply struct {
	Status int         // default 200
	Header http.Header // extra response headers
	Body   []byte      // a JSON body, or raw SSE when SSE is set
	SSE    bool        // serve Body as text/event-stream, flushing after every event
	// Burst, with SSE, writes Body in one write and one flush, as events that reached the
	// gateway together. A benchmark uses it so that what it measures does not depend on how
	// the fake's per-event writes race the gateway's reads (see the Gemini handler benchmarks).
	Burst bool
	// Hold keeps a streamed response open after Body until the client goes away; the server
	// then reports on Cancelled.
	Hold bool
}

// Shape is how a provider's server writes its replies.
type Shape struct {
	// JSONType is the Content-Type of a whole reply unless the Reply sets one.
	JSONType string
	// ContentLength sends a whole reply's length (else it is chunked).
	ContentLength bool
	// StreamHeader is added to every streamed reply.
	StreamHeader http.Header
}

// Fake is a fake provider's server; R is what it records of a request. A provider's fake
// embeds it and serves its own API with Start.
type Fake[R any] struct {
	URL  string // base URL without path, e.g. http://127.0.0.1:PORT
	Host string
	Port int

	shape     Shape
	cancelled chan string

	mu                 sync.Mutex
	queue              []Reply
	requests           []R
	keep, noCheck      bool
	defJSON, defStream Reply
	chatReply          Reply
}

// NewFake returns a fake that writes replies in shape, answering def when nothing was pushed
// (defStream for a request that asked for a stream). Start it with Start.
func NewFake[R any](shape Shape, def, defStream Reply) *Fake[R] {
	return &Fake[R]{shape: shape, cancelled: make(chan string, 16), keep: true, defJSON: def, defStream: defStream}
}

// Start serves h on 127.0.0.1 until t's cleanup; name prefixes its failures.
func (f *Fake[R]) Start(t testing.TB, name string, h http.Handler) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("%s: listen: %v", name, err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	f.URL, f.Host, f.Port = srv.URL, "127.0.0.1", l.Addr().(*net.TCPAddr).Port
}

// Push queues replies for the next provider requests, in order.
func (f *Fake[R]) Push(r ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, r...)
}

// SetDefaults sets the replies used when the queue is empty: json, or stream for a request
// that asked for a stream.
func (f *Fake[R]) SetDefaults(json, stream Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.defJSON, f.defStream = json, stream
}

// Next is the reply to the next provider request: the queue's first, or the default.
func (f *Fake[R]) Next(stream bool) Reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case len(f.queue) > 0:
		r := f.queue[0]
		f.queue = f.queue[1:]
		return r
	case stream:
		return f.defStream
	}
	return f.defJSON
}

// SetChatReply sets the reply of POST …/chat/completions (an OpenAI-shaped body or stream),
// answered unchecked, so the OpenAI passthrough can be measured against the same server.
func (f *Fake[R]) SetChatReply(r Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chatReply = r
}

// ServeChat answers r with the chat reply when it is POST …/chat/completions and reports
// whether it did.
func (f *Fake[R]) ServeChat(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		return false
	}
	f.mu.Lock()
	reply := f.chatReply
	f.mu.Unlock()
	f.Write(w, r, reply)
	return true
}

// KeepRequests turns recording of received requests on or off (off for benchmarks).
func (f *Fake[R]) KeepRequests(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keep = on
}

// SkipValidation turns request checks off; only benchmarks should use it, so the cost of the
// check does not count against the backend measured.
func (f *Fake[R]) SkipValidation(skip bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noCheck = skip
}

// Checking reports whether requests are to be checked.
func (f *Fake[R]) Checking() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.noCheck
}

// Record keeps req() when requests are recorded (benchmarks turn it off, and pay nothing).
func (f *Fake[R]) Record(req func() R) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keep {
		f.requests = append(f.requests, req())
	}
}

// Requests returns the requests recorded so far.
func (f *Fake[R]) Requests() []R {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]R(nil), f.requests...)
}

// Cancelled receives the path of every held response whose client went away.
func (f *Fake[R]) Cancelled() <-chan string { return f.cancelled }

// Write answers r with reply: whole, or as an event stream flushed after every event (events
// end with a blank line: "\n\n", "\r\n\r\n") or at once (Burst), held open when reply.Hold
// says so.
func (f *Fake[R]) Write(w http.ResponseWriter, r *http.Request, reply Reply) {
	for k, v := range reply.Header {
		w.Header()[k] = v
	}
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	if !reply.SSE {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", f.shape.JSONType)
		}
		if f.shape.ContentLength {
			w.Header().Set("Content-Length", strconv.Itoa(len(reply.Body)))
		}
		w.WriteHeader(status)
		_, _ = w.Write(reply.Body)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for k, v := range f.shape.StreamHeader {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	rest := reply.Body
	if reply.Burst {
		if _, err := w.Write(rest); err != nil {
			return
		}
		_ = rc.Flush()
		rest = nil
	}
	for len(rest) > 0 {
		n := eventEnd(rest)
		if n < 0 {
			n = len(rest)
		}
		chunk := rest[:n]
		rest = rest[n:]
		if _, err := w.Write(chunk); err != nil {
			return
		}
		_ = rc.Flush()
	}
	if reply.Hold {
		<-r.Context().Done()
		f.cancelled <- r.URL.Path
	}
}

// eventEnd is the length of b's first event with the blank line that ends it ("\n\n" or
// "\r\n\r\n", mixed ends too), or -1. One pass: searching for each terminator in turn read
// the whole rest of a CRLF stream for "\n\n" at every event, tens of µs of the fake's CPU per
// Gemini benchmark stream that the fake of the OpenAI stream (LF) did not spend.
func eventEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}
