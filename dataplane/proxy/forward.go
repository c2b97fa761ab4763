package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// forwarder is the request path of every proxied request except protocol upgrades and queries
// httputil.ReverseProxy would re-encode, which go to the ReverseProxy itself. It sends the same
// request upstream and the same response back as the ReverseProxy with New's Rewrite does
// (TestForwarderMatchesReverseProxy), with less work per request and fewer writes:
//
//   - A streamed response (text/event-stream, or of unknown length) is flushed after each read
//     from the upstream, as the ReverseProxy does, except the read that ends the body: its bytes
//     leave with the end of the response in one write.
//   - Its head waits up to headFlushDelay for the first body bytes, so that head and first
//     event leave in one write; the ReverseProxy writes the head alone at once, from a timer
//     goroutine. When the upstream sends the head and pauses (a model computing its first token),
//     the client has the head after headFlushDelay.
//   - No copy of the request beyond one http.Request and its headers, no client trace context
//     unless the upstream sends a 1xx response... (see got1xx), no media-type parse.
type forwarder struct {
	target    url.URL
	transport http.RoundTripper
	fail      func(http.ResponseWriter, *http.Request, error)
	errorLog  *log.Logger
}

// headFlushDelay bounds how long a streamed response's head waits for its first body bytes.
const headFlushDelay = time.Millisecond

// simpleQuery reports whether the ReverseProxy would pass a raw query on unchanged (its
// cleanQueryParams): no ';', no '%', fewer than 10,000 parameters, no urlmaxqueryparams setting.
func simpleQuery(q string) bool {
	if q == "" {
		return true
	}
	if reencodeQueries || strings.Count(q, "&") >= 10000-1 {
		return false
	}
	return strings.IndexByte(q, ';') < 0 && strings.IndexByte(q, '%') < 0
}

// reencodeQueries: with GODEBUG urlmaxqueryparams set, the ReverseProxy re-encodes every query.
var reencodeQueries = strings.Contains(os.Getenv("GODEBUG"), "urlmaxqueryparams")

// upgrading reports whether the client asks for a protocol upgrade (WebSocket, h2c).
func upgrading(h http.Header) bool {
	return httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") && h.Get("Upgrade") != ""
}

func (f *forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w}
	out := f.outbound(r, c)
	if out.Body != nil {
		if b, ok := out.Body.(*closeOnce); ok {
			// RoundTrip may still read the body after the handler returns: cut it off then.
			defer b.Close()
		}
	}
	res, err := f.transport.RoundTrip(out)
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
	if err != nil {
		f.fail(w, out, err)
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// Not asked for (upgrades go to the ReverseProxy), refused as the ReverseProxy does.
		res.Body.Close()
		f.fail(w, out, fmt.Errorf("backend tried to switch protocol %q when %q was requested", upgradeType(res.Header), ""))
		return
	}
	removeHopByHop(res.Header)
	h := w.Header()
	for k, vv := range res.Header {
		// The transport's header map is ours: its value slices are shared, not copied (their
		// capacity is their length, so a later append elsewhere copies them).
		if old, ok := h[k]; ok {
			h[k] = append(old, vv...)
		} else {
			h[k] = vv
		}
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if err := f.copyBody(w, res, streamed(res)); err != nil {
		defer res.Body.Close()
		if r.Context().Value(http.ServerContextKey) == nil {
			return // as the ReverseProxy: panic only under an http.Server, which recovers it
		}
		panic(http.ErrAbortHandler)
	}
	res.Body.Close() // now, to populate res.Trailer
	if len(res.Trailer) > 0 {
		// Force chunking, so net/http does not compute a Content-Length and drop the trailers.
		if fl := flusher(w); fl != nil {
			fl()
		}
	}
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			h[k] = append(h[k], vv...)
		}
		return
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			h.Add(k, v)
		}
	}
}

// outbound builds the upstream request from r as the ReverseProxy with New's Rewrite does:
// hop-by-hop and forwarding headers removed, SetForwarded, the URL on the target, the Host kept.
func (f *forwarder) outbound(r *http.Request, c *call) *http.Request {
	c.trace.Got1xxResponse = c.got1xx
	out := r.WithContext(httptrace.WithClientTrace(r.Context(), &c.trace))
	u := &c.url
	*u = *r.URL
	u.Scheme, u.Host = f.target.Scheme, f.target.Host
	u.Path, u.RawPath = joinPath(r.URL)
	out.URL = u
	out.Host = r.Host
	out.Close = false
	h := r.Header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	out.Header = h
	if r.Trailer != nil {
		out.Trailer = r.Trailer.Clone()
	}
	switch b := r.Body.(type) {
	case nil:
	case prereadBody:
		out.Body = io.NopCloser(b.Reader) // in memory: the transport writes it with the head
	default:
		out.Body = &closeOnce{rc: b}
	}
	if r.ContentLength == 0 {
		out.Body = nil // for the transport's retries, as the ReverseProxy does
	}
	removeHopByHop(h)
	if httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers") {
		h["Te"] = []string{"trailers"}
	}
	setForwarded(h, r, &c.forwarded)
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // not Go's default
	}
	return out
}

// setForwarded is SetForwarded on the outbound header h of r, its four values in the array v:
// the client's X-Forwarded-* are gone before SetXForwarded, so X-Forwarded-For is the client's
// address alone.
func setForwarded(h http.Header, r *http.Request, v *[4]string) {
	for k := range h {
		if untrusted(k) {
			delete(h, k)
		}
	}
	v[1] = r.Host
	v[2] = "http"
	if r.TLS != nil {
		v[2] = "https"
	}
	h["X-Forwarded-Host"] = v[1:2:2]
	h["X-Forwarded-Proto"] = v[2:3:3]
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		v[0], v[3] = ip, ip
		h["X-Forwarded-For"] = v[0:1:1]
		h["X-Real-Ip"] = v[3:4:4]
	}
}

// joinPath is the ReverseProxy's joinURLPath for a target without a path.
func joinPath(u *url.URL) (path, raw string) {
	if u.RawPath == "" {
		if strings.HasPrefix(u.Path, "/") {
			return u.Path, ""
		}
		return "/" + u.Path, ""
	}
	esc := u.EscapedPath()
	if strings.HasPrefix(esc, "/") {
		return u.Path, esc
	}
	return "/" + u.Path, "/" + esc
}

// streamed reports whether the ReverseProxy flushes a response after every write: an event
// stream or a body of unknown length.
func streamed(res *http.Response) bool {
	if res.ContentLength == -1 {
		return true
	}
	ct := res.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), "text/event-stream")
}

// copyBody copies the response body to w; a streamed one is flushed as described on forwarder.
func (f *forwarder) copyBody(w http.ResponseWriter, res *http.Response, stream bool) error {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	var flush func()
	var head *headFlush
	if stream {
		if flush = flusher(w); flush != nil {
			head = &headFlush{flush: flush}
			head.t = time.AfterFunc(headFlushDelay, head.fire)
		}
	}
	for first := true; ; first = false {
		n, rerr := res.Body.Read(buf)
		if first && head != nil {
			head.stop()
		}
		if rerr != nil && rerr != io.EOF && !errors.Is(rerr, context.Canceled) {
			f.errorLog.Printf("httputil: ReverseProxy read error during body copy: %v", rerr)
		}
		if n > 0 {
			m, werr := w.Write(buf[:n])
			if werr != nil {
				return werr
			}
			if m != n {
				return io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return nil // the end of the response leaves with these bytes
		}
		if rerr != nil {
			return rerr
		}
		if flush != nil && n > 0 {
			flush()
		}
	}
}

// headFlush writes a streamed response's head if its first body bytes are late.
type headFlush struct {
	mu    sync.Mutex
	done  bool
	flush func()
	t     *time.Timer
}

func (h *headFlush) fire() {
	h.mu.Lock()
	if !h.done {
		h.flush()
	}
	h.mu.Unlock()
}

// stop is called once the first read returned: from then on only the copy loop writes.
func (h *headFlush) stop() {
	h.t.Stop()
	h.mu.Lock()
	h.done = true
	h.mu.Unlock()
}

// flusher returns w's Flush, through the Unwrap chain (nil: w cannot flush).
func flusher(w http.ResponseWriter) func() {
	for {
		switch x := w.(type) {
		case http.Flusher:
			return x.Flush
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// call is one upstream call's state for the 1xx responses forwarded to the client, as the
// ReverseProxy's client trace does, and parts of its outbound request.
type call struct {
	mu    sync.Mutex
	done  bool // RoundTrip returned: the response header map is no longer ours to change
	w     http.ResponseWriter
	trace httptrace.ClientTrace
	// The outbound request's URL and forwarding header values live here, in the allocation the
	// call needs anyway, not in two of their own. The header slices' capacity is their length,
	// so an append elsewhere copies them rather than writing into the array.
	url       url.URL
	forwarded [4]string
}

func (c *call) got1xx(code int, header textproto.MIMEHeader) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	h := c.w.Header()
	for k, vv := range header {
		for _, v := range vv {
			h.Add(k, v)
		}
	}
	c.w.WriteHeader(code)
	clear(h) // WriteHeader does not clear them after a 1xx
	return nil
}

// closeOnce is a request body the transport may close (it does when the upstream cannot be
// reached) without closing the client's body, and that reads nothing once the handler is done.
type closeOnce struct {
	rc     io.ReadCloser
	closed atomic.Bool
}

func (b *closeOnce) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errors.New("ReverseProxy read from closed body")
	}
	return b.rc.Read(p)
}

func (b *closeOnce) Close() error {
	b.closed.Store(true)
	return nil
}

// hopHeaders are removed in both directions, with those the Connection header names.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

func upgradeType(h http.Header) string {
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}
