package epp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	procmode "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// chunkSize is the largest body piece sent in one message in the streamed modes (Envoy sends
// what it has received, typically far less).
const chunkSize = 64 << 10

// exchange is one request's ext_proc stream.
type exchange struct {
	c      *Client
	h      *handler
	stream extprocv3.ExternalProcessor_ProcessClient
	ctx    context.Context // the stream's
	cancel context.CancelFunc
	recv   chan received // nil until startReceiving
	mode   Mode

	endpoints []string
	body      []byte
	first     headersRequest // the request headers message

	closeOnce sync.Once
	// sendMu keeps Sends and CloseSend apart: grpc-go allows none of them alongside another,
	// and the response body's pump sends and half-closes while the proxy may close the
	// exchange (the race detector caught both CloseSends at once).
	sendMu sync.Mutex
}

type received struct {
	m   *extprocv3.ProcessingResponse
	err error
}

// exchange runs the request phase: it opens the stream, sends the headers (with the subset hint)
// and the body as the mode asks, applies the picker's header and body mutations to r and body,
// and returns with the picker's endpoints that are the pool's. The stream stays open for the
// response phases until close. Past Options.Timeout the stream is cancelled and a timeout
// failure returned.
func (c *Client) exchange(ctx context.Context, h *handler, r *http.Request, body []byte) (*exchange, error) {
	proc, err := c.processor(h.pk.Address)
	if err != nil {
		return nil, &failure{reason: "unavailable", err: err}
	}
	sctx, cancel := streamContext(ctx)
	ex := &exchange{c: c, h: h, ctx: sctx, cancel: cancel, mode: c.opts.Mode, body: body}
	// The request phase reads the picker's replies on this goroutine (no receiver goroutine,
	// no channel hop per reply): the phase's end cancels the stream, which ends a blocked Send
	// or Recv, and failureMode then applies to the request.
	ph := &phase{Context: sctx}
	timer := time.AfterFunc(c.opts.Timeout, func() { ph.expired.Store(true); cancel() })
	ex.stream, err = proc.Process(sctx)
	if err != nil {
		timer.Stop()
		cancel()
		return nil, classify(err, ph)
	}
	err = ex.request(ph, r)
	if !timer.Stop() || sctx.Err() != nil {
		if err == nil {
			err = classify(ph.Err(), ph) // the phase ended as it succeeded: the stream is gone
		}
	}
	return ex, err
}

// phase is the request phase's context: the stream's, whose Err is DeadlineExceeded once
// Options.Timeout passed (its timer cancels the stream). One timer per request instead of a
// deadline context and a context.AfterFunc.
type phase struct {
	context.Context
	expired atomic.Bool
}

func (p *phase) Err() error {
	if p.expired.Load() {
		return context.DeadlineExceeded
	}
	return p.Context.Err()
}

// request sends the request headers and runs the request phase.
func (ex *exchange) request(phase context.Context, r *http.Request) error {
	h, body := ex.h, ex.body
	ex.first = headersRequest{r: r, eos: body == nil, mode: ex.mode}
	var first any = &ex.first // the fast path's stream encodes it by hand
	_, fast := ex.stream.(*h2Stream)
	if subset := h.pool.Reachable(); subset != nil || !fast {
		first = ex.first.message(subset)
	}
	if ex.mode.RequestBody == BodyFullDuplex && body != nil {
		holdFirst(ex.stream) // the body's first chunk follows at once (requestPhase)
	}
	sendsBody(ex.stream, body)
	if err := ex.sendMsg(first); err != nil {
		return classify(ex.endStatus(err), phase)
	}
	// The picker's header mutations go on a copy: when it fails, failOpen serves the request
	// as the client sent it.
	hdr := r.Header.Clone()
	if err := ex.requestPhase(phase, hdr); err != nil {
		return err
	}
	r.Header = hdr
	if r.ContentLength != int64(len(ex.body)) && ex.body != nil {
		r.ContentLength = int64(len(ex.body))
	}
	return nil
}

// requestPhase sends the body as the mode asks and reads replies until the picker answered the
// headers and, when it takes the body, all of it.
func (ex *exchange) requestPhase(ctx context.Context, hdr http.Header) (err error) {
	body := ex.body
	bodyMode := ex.mode.RequestBody
	if body == nil {
		bodyMode = BodyNone
	}
	// A body of several chunks is sent from another goroutine while this one reads the replies:
	// a picker may answer each chunk as it arrives, and unread replies would fill the receive
	// window and stall both sides. The phase's end cancels the stream, which ends the sender.
	// (Nothing the goroutine captures is allocated for a body of one chunk.)
	var sent chan error
	startChunks := func() error {
		if len(body) <= chunkSize {
			return ex.sendChunks(body)
		}
		ch := make(chan error, 1)
		sent = ch
		go func() { ch <- ex.sendChunks(body) }()
		return nil
	}
	defer func() {
		if sent == nil {
			return
		}
		if err != nil {
			ex.cancel() // the sender may wait for a window the picker will not open
		}
		if serr := <-sent; err == nil && serr != nil {
			err = classify(serr, ctx)
		}
	}()
	nChunks := max(1, (len(body)+chunkSize-1)/chunkSize)
	chunk := func(i int) []byte { return body[min(i*chunkSize, len(body)):min((i+1)*chunkSize, len(body))] }
	pendingChunks := 0 // streamed mode: replies still owed, one per chunk
	if bodyMode == BodyFullDuplex {
		// Sent without waiting for the headers reply, as Envoy does in this mode.
		if err := startChunks(); err != nil {
			return classify(ex.endStatus(err), ctx)
		}
	}
	var (
		gotHeaders bool
		bodyDone   = bodyMode == BodyNone
		dest       string
		haveDest   bool
		streamed   []byte // full duplex: the body as the picker sends it back
		chunks     [][]byte
	)
	for !gotHeaders || !bodyDone {
		m, d, ok, err := ex.nextPick(ctx)
		if err != nil {
			return err
		}
		if ok {
			dest, haveDest = d, true
		}
		switch v := m.GetResponse().(type) {
		case *extprocv3.ProcessingResponse_ImmediateResponse:
			return immediateFrom(v.ImmediateResponse)
		case *extprocv3.ProcessingResponse_RequestHeaders:
			if gotHeaders {
				return fail("invalid", "second request headers reply")
			}
			gotHeaders = true
			cr := v.RequestHeaders.GetResponse()
			ex.common(cr, hdr, &dest, &haveDest)
			if cr.GetStatus() == extprocv3.CommonResponse_CONTINUE_AND_REPLACE {
				// The picker replaces the body (or keeps none) and skips the body phase.
				ex.body = replaceBody(cr.GetBodyMutation(), nil)
				bodyDone = true
				continue
			}
			if o := m.GetModeOverride(); o != nil && bodyMode != BodyFullDuplex {
				ex.mode.ResponseHeaders = o.GetResponseHeaderMode() != procmode.ProcessingMode_SKIP
				ex.mode.ResponseBody = o.GetResponseBodyMode()
				if body != nil && o.GetRequestBodyMode() != bodyMode {
					bodyMode = o.GetRequestBodyMode()
					bodyDone = bodyMode == BodyNone
				}
			}
			switch bodyMode {
			case BodyBuffered:
				m := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
					RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}}
				if err := ex.send(m); err != nil {
					return classify(ex.endStatus(err), ctx)
				}
			case BodyStreamed:
				pendingChunks = nChunks
				if err := startChunks(); err != nil {
					return classify(ex.endStatus(err), ctx)
				}
			}
		case *extprocv3.ProcessingResponse_RequestBody:
			if bodyDone || (bodyMode != BodyFullDuplex && !gotHeaders) {
				return fail("invalid", "unexpected request body reply")
			}
			cr := v.RequestBody.GetResponse()
			ex.common(cr, hdr, &dest, &haveDest)
			switch bodyMode {
			case BodyFullDuplex:
				// The body as the picker sends it back (GIE's EPP: all of it, once), or, for a
				// reply without a mutation, the chunk it answers passed on unchanged (GIE's lwepp).
				if cr.GetBodyMutation() == nil {
					if nChunks > 1 {
						streamed = append(streamed, chunk(len(chunks))...)
					}
					chunks = append(chunks, nil)
					if len(chunks) == nChunks {
						if nChunks > 1 {
							ex.body = streamed
						}
						bodyDone = true
					}
					break
				}
				sr := cr.GetBodyMutation().GetStreamedResponse()
				if sr == nil {
					return fail("invalid", "full-duplex body reply without a streamed response")
				}
				if streamed == nil && sr.GetEndOfStream() {
					streamed = sr.GetBody() // the whole body in one reply: no copy
				} else {
					streamed = append(streamed, sr.GetBody()...)
				}
				if int64(len(streamed)) > ex.c.opts.MaxBodyBytes {
					return fail("invalid", "the picker returned a body over %d bytes", ex.c.opts.MaxBodyBytes)
				}
				if sr.GetEndOfStream() {
					ex.body = streamed
					bodyDone = true
				}
			case BodyBuffered:
				ex.body = replaceBody(cr.GetBodyMutation(), body)
				bodyDone = true
			case BodyStreamed:
				chunks = append(chunks, replaceBody(cr.GetBodyMutation(), chunk(len(chunks))))
				if pendingChunks--; pendingChunks == 0 {
					ex.body = joinChunks(chunks)
					bodyDone = true
				}
			}
		case *extprocv3.ProcessingResponse_RequestTrailers:
			// Nothing to do: the dataplane sends no trailers.
		default:
			return fail("invalid", "reply %T in the request phase", m.GetResponse())
		}
	}
	if !haveDest {
		return fail("no_destination", "the picker named no endpoint (%s metadata or header)", KeyDestination)
	}
	eps, malformed := parseEndpoints(dest)
	ex.endpoints = eps[:0:len(eps)] // filtered in place: eps is this request's own
	for _, e := range eps {
		if ex.h.pool.Has(e) {
			ex.endpoints = append(ex.endpoints, e)
		}
	}
	if len(ex.endpoints) == 0 {
		if len(eps) == 0 && malformed > 0 {
			return fail("invalid", "destination %q is not a list of ip:port", printable(dest, 128))
		}
		return fail("not_in_pool", "destination %q names no endpoint of the pool", printable(dest, 128))
	}
	hdr[canonicalDestination] = []string{strings.Join(ex.endpoints, ",")} // hdr.Set without canonicalizing the key per pick
	return nil
}

var canonicalDestination = http.CanonicalHeaderKey(KeyDestination)

// sendChunks sends body in chunkSize messages.
func (ex *exchange) sendChunks(body []byte) error {
	for off := 0; ; off += chunkSize {
		end := min(off+chunkSize, len(body))
		last := end == len(body)
		m := &bodyRequest{} // one allocation for the message's three
		m.body.Body, m.body.EndOfStream = body[off:end], last
		m.reqB.RequestBody = &m.body
		m.req.Request = &m.reqB
		if err := ex.send(&m.req); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// common applies a reply's header mutation to h and reads a destination header it sets.
func (ex *exchange) common(cr *extprocv3.CommonResponse, h http.Header, dest *string, have *bool) {
	if cr == nil {
		return
	}
	if !*have {
		if d, ok := destination(nil, cr.GetHeaderMutation()); ok {
			*dest, *have = d, true
		}
	}
	if n := applyHeaderMutation(h, cr.GetHeaderMutation()); n > 0 {
		ex.c.log.Debug("endpoint picker header mutations ignored", "pool", ex.h.name, "count", n)
	}
}

// replaceBody applies a buffered or streamed-chunk body mutation to cur.
func replaceBody(m *extprocv3.BodyMutation, cur []byte) []byte {
	switch v := m.GetMutation().(type) {
	case *extprocv3.BodyMutation_Body:
		return v.Body
	case *extprocv3.BodyMutation_ClearBody:
		if v.ClearBody {
			return []byte{}
		}
	}
	return cur
}

func joinChunks(cs [][]byte) []byte {
	n := 0
	for _, c := range cs {
		n += len(c)
	}
	out := make([]byte, 0, n)
	for _, c := range cs {
		out = append(out, c...)
	}
	return out
}

func immediateFrom(ir *extprocv3.ImmediateResponse) error {
	code := int(ir.GetStatus().GetCode())
	if code < 400 || code > 599 {
		return fail("invalid", "immediate response with status %d", code)
	}
	e := &immediate{status: code, message: printable(string(ir.GetBody()), 256)}
	if e.message == "" {
		e.message = printable(ir.GetDetails(), 256)
	}
	for _, o := range ir.GetHeaders().GetSetHeaders() {
		if strings.EqualFold(o.GetHeader().GetKey(), "retry-after") {
			e.retryAfter = printable(headerValue(o.GetHeader()), 32)
		}
	}
	return e
}

// startReceiving moves the picker's replies to ex.recv from now on (the response phases wait on
// them with their own deadlines, and the full-duplex body alongside the upstream).
func (ex *exchange) startReceiving() {
	if ex.recv == nil {
		ex.recv = make(chan received, 4)
		go ex.receive(ex.ctx)
	}
}

// receive moves the picker's replies to ex.recv until the stream ends.
func (ex *exchange) receive(ctx context.Context) {
	defer close(ex.recv)
	for {
		m, err := ex.stream.Recv()
		select {
		case ex.recv <- received{m, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// next waits for the picker's next reply until ctx ends. Before startReceiving it reads the
// stream itself, and ctx's end must cancel the stream (the request phase arranges it).
func (ex *exchange) next(ctx context.Context) (*extprocv3.ProcessingResponse, error) {
	if ex.recv == nil {
		m, err := ex.stream.Recv()
		if err != nil {
			return nil, classify(err, ctx)
		}
		if m.GetResponse() == nil {
			return nil, fail("invalid", "reply without a response")
		}
		return m, nil
	}
	select {
	case r, ok := <-ex.recv:
		if !ok {
			return nil, fail("stream_closed", "the picker closed the stream before answering")
		}
		if r.err != nil {
			return nil, classify(r.err, ctx)
		}
		if r.m.GetResponse() == nil {
			return nil, fail("invalid", "reply without a response")
		}
		return r.m, nil
	case <-ctx.Done():
		return nil, classify(ctx.Err(), ctx)
	}
}

// nextPick is next in the request phase, with the destination the reply's dynamic metadata
// names: the fast path's stream reads it without building the metadata's Struct.
func (ex *exchange) nextPick(ctx context.Context) (m *extprocv3.ProcessingResponse, dest string, ok bool, err error) {
	s, fast := ex.stream.(*h2Stream)
	if !fast || ex.recv != nil {
		if m, err = ex.next(ctx); err != nil {
			return nil, "", false, err
		}
		dest, ok = destination(m.GetDynamicMetadata(), nil)
		return m, dest, ok, nil
	}
	if m, dest, ok, err = s.recvPick(); err != nil {
		return nil, "", false, classify(err, ctx)
	}
	if m.GetResponse() == nil {
		return nil, "", false, fail("invalid", "reply without a response")
	}
	if !ok {
		dest, ok = destination(m.GetDynamicMetadata(), nil)
	}
	return m, dest, ok, nil
}

// send sends m; io.EOF means the picker ended the stream (see endStatus).
func (ex *exchange) send(m *extprocv3.ProcessingRequest) error {
	ex.sendMu.Lock()
	defer ex.sendMu.Unlock()
	return ex.stream.Send(m)
}

// sendMsg is send of a *extprocv3.ProcessingRequest, or of a *headersRequest to the fast
// path's stream.
func (ex *exchange) sendMsg(m any) error {
	if pm, ok := m.(*extprocv3.ProcessingRequest); ok {
		return ex.send(pm)
	}
	ex.sendMu.Lock()
	defer ex.sendMu.Unlock()
	return ex.stream.SendMsg(m)
}

// closeSend tells the picker the request's side of the stream has ended (after the response
// body's last chunk).
func (ex *exchange) closeSend() {
	ex.sendMu.Lock()
	defer ex.sendMu.Unlock()
	_ = ex.stream.CloseSend()
}

// endStatus turns a Send's io.EOF into the status the picker ended the stream with: grpc-go's
// Send reports only io.EOF and leaves the status to Recv. Without it, a picker answering an
// error status was counted as stream_closed or epp_error depending on whether its status
// arrived before or after the client's next Send. Called by the goroutine that reads the
// replies (itself in the request phase, through ex.recv after startReceiving); replies the
// picker sent before it ended are dropped (a stream that ends mid-request fails either way),
// at most a few: the stream has ended.
func (ex *exchange) endStatus(err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	for range 16 {
		var rerr error
		if ex.recv == nil {
			_, rerr = ex.stream.Recv()
		} else if r, ok := <-ex.recv; !ok {
			return err
		} else {
			rerr = r.err
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return err
			}
			return rerr
		}
	}
	return err
}

// close ends the stream (the picker sees the end of the request) and releases it. A Send in
// progress (the response body's pump, which may wait for a window the picker does not open)
// is ended by cancelling the stream before CloseSend.
func (ex *exchange) close() {
	ex.closeOnce.Do(func() {
		if !ex.sendMu.TryLock() {
			ex.cancel()
			ex.sendMu.Lock()
		}
		endStream(ex.stream)
		ex.sendMu.Unlock()
		ex.cancel()
	})
}

// classify names a stream error for the metrics; ctx is the phase whose deadline applies.
func classify(err error, ctx context.Context) error {
	var f *failure
	var imm *immediate
	if errors.As(err, &f) || errors.As(err, &imm) {
		return err
	}
	if ctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
		return &failure{reason: "timeout", err: err}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, io.EOF) {
		return &failure{reason: "stream_closed", err: errors.New("the picker closed the stream before answering")}
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return &failure{reason: "unavailable", err: err}
	case codes.DeadlineExceeded:
		return &failure{reason: "timeout", err: err}
	case codes.Canceled:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &failure{reason: "stream_closed", err: err}
	}
	return &failure{reason: "epp_error", err: err}
}
