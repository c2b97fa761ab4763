package mcp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/infergw/gwctl/dataplane/sse"
)

// maxUpstreamJSON bounds a target's application/json response.
const maxUpstreamJSON = 32 << 20

// upstream is one target and the client that reaches it.
type upstream struct {
	Target
	client *http.Client
}

// call is one message the gateway sends to a target.
type call struct {
	id     json.RawMessage // the request id, to find its response; nil for notifications and responses
	method string
	name   string // the target-side name for Mcp-Name (tools/call, prompts/get, resources/read)
	body   []byte
	// session is the target's upstream session (legacy generation); empty SessionID sends none.
	session targetSession
	// modern is the 2026-07-28 protocol version when the client speaks it; "" for the legacy generation.
	modern string
	// wrap runs the call in a session of its own: initialize → call → DELETE.
	wrap bool
	// isInit marks the client's initialize, which opens the upstream session itself.
	isInit bool
	// header carries client headers passed through (traceparent, Mcp-Param-*, Last-Event-ID).
	header http.Header
}

// reply is a target's answer: its HTTP status and headers, and the messages of its body.
type reply struct {
	status int
	header http.Header
	json   bool
	src    eventSource // nil when the body is empty (202)
}

func (r *reply) close() {
	if r != nil && r.src != nil {
		r.src.close()
	}
}

// eventSource yields the events of a reply; next returns io.EOF at its end. An event's Data is
// valid until the following next: copy it to keep it longer.
type eventSource interface {
	next() (sse.Event, error)
	close()
}

// unavailableError is a target that could not be reached or broke off; it becomes a JSON-RPC error.
type unavailableError struct {
	target string
	err    error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("mcp target %q unavailable: %v", e.target, e.err)
}
func (e *unavailableError) Unwrap() error { return e.err }

func newTransport(dialTimeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   dialTimeout,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}
}

// send delivers c to the target by the target's transport and the session mode.
func (u *upstream) send(ctx context.Context, c *call) (*reply, error) {
	if u.Protocol == SSE {
		return u.sendSSE(ctx, c)
	}
	if c.wrap && !c.isInit {
		return u.sendWrapped(ctx, c)
	}
	return u.post(ctx, u.URL, c, c.session)
}

func (u *upstream) post(ctx context.Context, endpoint string, c *call, ts targetSession) (*reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(c.body))
	if err != nil {
		return nil, &unavailableError{u.Name, err}
	}
	h := req.Header
	for k, v := range c.header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	if ts.SessionID != "" {
		h.Set("Mcp-Session-Id", ts.SessionID)
	}
	switch {
	case c.modern != "":
		h.Set("Mcp-Protocol-Version", c.modern)
		if c.method != "" {
			h.Set("Mcp-Method", c.method)
		}
		if c.name != "" {
			h.Set("Mcp-Name", c.name)
		}
	case ts.Version != "":
		h.Set("Mcp-Protocol-Version", ts.Version)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, &unavailableError{u.Name, err}
	}
	return u.toReply(resp)
}

func (u *upstream) toReply(resp *http.Response) (*reply, error) {
	r := &reply{status: resp.StatusCode, header: resp.Header}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case mt == "text/event-stream":
		r.src = newSSESource(resp.Body, nil)
	case mt == "application/json":
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamJSON))
		resp.Body.Close()
		if err != nil {
			return nil, &unavailableError{u.Name, fmt.Errorf("reading response: %w", err)}
		}
		if len(bytes.TrimSpace(b)) > 0 {
			r.json = true
			r.src = &oneEvent{ev: sse.Event{Data: b}}
		}
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return r, fmt.Errorf("mcp target %q answered HTTP %d: %s", u.Name, resp.StatusCode, strings.TrimSpace(string(b)))
		}
	}
	return r, nil
}

// roundTrip sends a request and waits for its response message, skipping notifications.
func (u *upstream) roundTrip(ctx context.Context, c *call) (*message, *reply, error) {
	r, err := u.send(ctx, c)
	if err != nil {
		return nil, r, err
	}
	defer r.close()
	m, err := awaitResponse(r, c.id)
	if err != nil {
		return nil, r, &unavailableError{u.Name, err}
	}
	return m, r, nil
}

// awaitResponse reads r until the response to id.
func awaitResponse(r *reply, id json.RawMessage) (*message, error) {
	if r.src == nil {
		return nil, fmt.Errorf("HTTP %d with no response body", r.status)
	}
	for {
		ev, err := r.src.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("stream ended before the response (HTTP %d)", r.status)
			}
			return nil, err
		}
		if len(ev.Data) == 0 || (ev.Name != "" && ev.Name != "message") {
			continue
		}
		var m message
		if json.Unmarshal(ev.Data, &m) != nil {
			continue
		}
		if m.kind() == kindResponse && bytes.Equal(m.ID, id) {
			return &m, nil
		}
		if m.kind() == kindResponse && id == nil {
			return &m, nil
		}
		if m.Error != nil && (len(m.ID) == 0 || string(m.ID) == "null") {
			// A server that refuses the request before reading its id (e.g. "Server not initialized").
			return &m, nil
		}
	}
}

// sseSource reads a target's event stream with the shared reader, keeping every field a client's
// reconnection needs (NextBlock).
type sseSource struct {
	er     *sse.Reader
	body   io.ReadCloser
	done   func()
	closed sync.Once
	// mu is held while reading, so close returns the reader's buffer to the pool only when no
	// read is in flight (a buffer reused while another stream still reads into it would mix the
	// two streams); a stream closed mid-read leaves its buffer to the collector.
	mu       sync.Mutex
	released bool
}

func newSSESource(body io.ReadCloser, done func()) *sseSource {
	return &sseSource{er: sse.NewReader(body, maxEventBytes), body: body, done: done}
}

// next returns the next event; its Data is valid until the following call.
func (s *sseSource) next() (sse.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return sse.Event{}, io.EOF
	}
	return s.er.NextBlock()
}

// close releases the stream. A server ends a POST's stream right after the response, so the rest
// (usually just the chunked terminator) is drained in the background for a moment: that lets the
// connection go back to the pool instead of costing a new TCP handshake on the next call.
func (s *sseSource) close() {
	s.closed.Do(func() {
		if s.mu.TryLock() {
			s.er.Release()
			s.released = true
			s.mu.Unlock()
		}
		body := s.body
		go func() {
			t := time.AfterFunc(250*time.Millisecond, func() { body.Close() })
			_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
			t.Stop()
			body.Close()
		}()
		if s.done != nil {
			s.done()
		}
	})
}

type oneEvent struct {
	ev   sse.Event
	used bool
}

func (o *oneEvent) next() (sse.Event, error) {
	if o.used {
		return sse.Event{}, io.EOF
	}
	o.used = true
	return o.ev, nil
}
func (o *oneEvent) close() {}

// initBody is the initialize request the gateway sends for sessions of its own.
func initBody(version string) []byte {
	if version == "" {
		version = "2025-11-25"
	}
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": "gw-init", "method": "initialize",
		"params": map[string]any{
			"protocolVersion": version,
			"capabilities":    map[string]any{},
			"clientInfo":      map[string]any{"name": "gwctl-mcp-gateway", "version": "1"},
		},
	})
	return b
}

var initializedBody = []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

// sendWrapped runs c in a short upstream session: initialize, initialized, c, then DELETE once the
// reply has been read (sessionRouting Stateless).
func (u *upstream) sendWrapped(ctx context.Context, c *call) (*reply, error) {
	ts, err := u.initialize(ctx, c.session.Version)
	if err != nil {
		return nil, err
	}
	r, err := u.post(ctx, u.URL, c, ts)
	if err != nil || r.src == nil {
		u.terminate(ts)
		return r, err
	}
	r.src = &closeHook{eventSource: r.src, hook: func() { u.terminate(ts) }}
	return r, nil
}

// initialize opens an upstream session and completes the handshake.
func (u *upstream) initialize(ctx context.Context, version string) (targetSession, error) {
	ic := &call{id: json.RawMessage(`"gw-init"`), method: "initialize", body: initBody(version)}
	m, r, err := u.roundTrip(ctx, ic)
	if err != nil {
		return targetSession{}, err
	}
	if m.Error != nil {
		return targetSession{}, &unavailableError{u.Name, fmt.Errorf("initialize: %w", m.Error)}
	}
	var res struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(m.Result, &res)
	ts := targetSession{Name: u.Name, SessionID: r.header.Get("Mcp-Session-Id"), Version: res.ProtocolVersion}
	nr, err := u.post(ctx, u.URL, &call{method: "notifications/initialized", body: initializedBody}, ts)
	nr.close()
	if err != nil {
		return targetSession{}, err
	}
	return ts, nil
}

// terminate ends an upstream session in the background; its failure changes nothing for the client.
func (u *upstream) terminate(ts targetSession) {
	if ts.SessionID == "" {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = u.delete(ctx, ts)
	}()
}

func (u *upstream) delete(ctx context.Context, ts targetSession) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.URL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Mcp-Session-Id", ts.SessionID)
	if ts.Version != "" {
		req.Header.Set("Mcp-Protocol-Version", ts.Version)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return 0, &unavailableError{u.Name, err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return resp.StatusCode, nil
}

type closeHook struct {
	eventSource
	hook func()
	once sync.Once
}

func (c *closeHook) close() {
	c.once.Do(func() {
		c.eventSource.close()
		c.hook()
	})
}

var b64 = base64.StdEncoding

// decodeHeaderValue undoes the =?base64?…?= wrapping 2026-07-28 clients may use for header values.
func decodeHeaderValue(v string) (string, bool) {
	if strings.HasPrefix(v, "=?base64?") && strings.HasSuffix(v, "?=") && len(v) >= len("=?base64??=") {
		b, err := b64.DecodeString(v[len("=?base64?") : len(v)-2])
		if err != nil {
			return "", false
		}
		return string(b), true
	}
	return v, true
}

func resolveEndpoint(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return "", err
	}
	return b.ResolveReference(r).String(), nil
}
