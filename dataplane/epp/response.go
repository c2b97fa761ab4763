package epp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/pool"
)

// respond runs the response phases the mode asks for on the model server's response: the
// headers (with the served endpoint in the metadata context) and the body, applying the
// picker's mutations. A picker failure before the client got anything falls open (the response
// passes unchanged) or closed (503) as failureMode says; during the body it ends the response.
func (ex *exchange) respond(resp *http.Response, served string) error {
	mode := ex.mode
	hasBody := resp.Body != nil && resp.Body != http.NoBody && resp.ContentLength != 0
	bodyMode := mode.ResponseBody
	if !hasBody {
		bodyMode = BodyNone
	}
	if !mode.ResponseHeaders && bodyMode == BodyNone {
		ex.close()
		return nil
	}
	ex.startReceiving()
	md := servedMetadata(served)
	if mode.ResponseHeaders {
		m := &extprocv3.ProcessingRequest{
			Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
				Headers: responseHeaderMap(resp), EndOfStream: !hasBody}},
			MetadataContext: md,
		}
		md = nil
		if err := ex.send(m); err != nil {
			return ex.responseFailed(resp, classify(ex.endStatus(err), context.Background()))
		}
		ctx, cancel := context.WithTimeout(context.Background(), ex.c.opts.ResponseTimeout)
		reply, err := ex.next(ctx)
		cancel()
		if err != nil {
			return ex.responseFailed(resp, err)
		}
		switch v := reply.GetResponse().(type) {
		case *extprocv3.ProcessingResponse_ImmediateResponse:
			err := immediateFrom(v.ImmediateResponse)
			var imm *immediate
			if !errors.As(err, &imm) {
				return ex.responseFailed(resp, err)
			}
			ex.c.metrics.requests.WithLabelValues(ex.h.name, "immediate").Inc()
			replaceResponse(resp, imm.apiError(ex.h.name))
			ex.close()
			return nil
		case *extprocv3.ProcessingResponse_ResponseHeaders:
			cr := v.ResponseHeaders.GetResponse()
			applyHeaderMutation(resp.Header, cr.GetHeaderMutation())
			if cr.GetStatus() == extprocv3.CommonResponse_CONTINUE_AND_REPLACE {
				setBody(resp, replaceBody(cr.GetBodyMutation(), []byte{}))
				ex.close()
				return nil
			}
			if o := reply.GetModeOverride(); o != nil && bodyMode != BodyFullDuplex && hasBody {
				bodyMode = o.GetResponseBodyMode()
			}
		default:
			return ex.responseFailed(resp, fail("invalid", "reply %T to the response headers", reply.GetResponse()))
		}
	}
	switch bodyMode {
	case BodyFullDuplex:
		resp.Body = newDuplexBody(ex, resp.Body, md)
		unsetLength(resp)
	case BodyBuffered:
		return ex.bufferedResponse(resp, md)
	case BodyStreamed:
		resp.Body = &streamedBody{ex: ex, up: resp.Body, md: md}
		unsetLength(resp)
	default:
		ex.close()
	}
	return nil
}

// responseFailed applies failureMode to a picker failure in the response headers phase.
func (ex *exchange) responseFailed(resp *http.Response, err error) error {
	ex.c.metrics.errors.WithLabelValues(ex.h.name, "response").Inc()
	ex.close()
	if ex.h.pk.FailureMode == pool.FailOpen {
		ex.c.log.Warn("endpoint picker failed in the response phase, passing the response on", "pool", ex.h.name, "error", err)
		return nil
	}
	ex.c.log.Warn("endpoint picker failed in the response phase", "pool", ex.h.name, "error", err)
	replaceResponse(resp, &apierror.Error{Status: http.StatusServiceUnavailable, Type: "service_unavailable",
		Message: fmt.Sprintf("inference pool %s: endpoint picker unavailable", ex.h.name)})
	return nil
}

// bufferedResponse sends the whole body in one message and applies the reply.
func (ex *exchange) bufferedResponse(resp *http.Response, md *corev3.Metadata) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, ex.c.opts.MaxBodyBytes+1))
	_ = resp.Body.Close()
	if err != nil {
		return err // the model server failed: the proxy answers 502
	}
	if int64(len(b)) > ex.c.opts.MaxBodyBytes {
		return ex.responseFailed(resp, fail("invalid", "response body over %d bytes for a buffered picker", ex.c.opts.MaxBodyBytes))
	}
	setBody(resp, b)
	m := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
		ResponseBody: &extprocv3.HttpBody{Body: b, EndOfStream: true}}, MetadataContext: md}
	if err := ex.send(m); err != nil {
		return ex.responseFailed(resp, classify(ex.endStatus(err), context.Background()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), ex.c.opts.ResponseTimeout)
	reply, err := ex.next(ctx)
	cancel()
	if err != nil {
		return ex.responseFailed(resp, err)
	}
	br, ok := reply.GetResponse().(*extprocv3.ProcessingResponse_ResponseBody)
	if !ok {
		return ex.responseFailed(resp, fail("invalid", "reply %T to the response body", reply.GetResponse()))
	}
	applyHeaderMutation(resp.Header, br.ResponseBody.GetResponse().GetHeaderMutation())
	setBody(resp, replaceBody(br.ResponseBody.GetResponse().GetBodyMutation(), b))
	ex.close()
	return nil
}

func setBody(resp *http.Response, b []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

func unsetLength(resp *http.Response) {
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
}

// replaceResponse turns resp into e in the client's error shape.
func replaceResponse(resp *http.Response, e *apierror.Error) {
	if resp.Body != nil {
		_ = resp.Body.Close()
	}
	resp.StatusCode = e.Status
	resp.Status = strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	resp.Header = http.Header{"Content-Type": {"application/json"}, "X-Content-Type-Options": {"nosniff"}}
	if e.RetryAfter != "" {
		resp.Header.Set("Retry-After", e.RetryAfter)
	}
	setBody(resp, e.AppendJSON(nil))
}

// duplexBody streams the response body through the picker full duplex: a pump sends the model
// server's chunks as they arrive while Read returns what the picker sends back. A picker that
// answers a chunk without a mutation passes that chunk on unchanged.
type duplexBody struct {
	ex *exchange
	up io.ReadCloser

	mu       sync.Mutex
	queue    [][]byte  // chunks sent and not yet answered, for replies without a mutation
	streamed bool      // the picker sends the body back itself: stop queueing
	sent     int       // chunks sent since the last reply
	owed     time.Time // when the first of them was sent
	finished bool      // the end of the body was sent
	pumpErr  error
	pumpDone chan struct{}

	buf  []byte
	done bool
	err  error
}

func newDuplexBody(ex *exchange, up io.ReadCloser, md *corev3.Metadata) *duplexBody {
	b := &duplexBody{ex: ex, up: up, pumpDone: make(chan struct{})}
	go b.pump(md)
	return b
}

func (b *duplexBody) pump(md *corev3.Metadata) {
	defer close(b.pumpDone)
	buf := make([]byte, 32<<10)
	for {
		n, err := b.up.Read(buf)
		eos := errors.Is(err, io.EOF)
		if err != nil && !eos {
			b.mu.Lock()
			b.pumpErr = err
			b.mu.Unlock()
			return
		}
		if n == 0 && !eos {
			continue
		}
		chunk := bytes.Clone(buf[:n])
		b.mu.Lock()
		if !b.streamed {
			b.queue = append(b.queue, chunk)
		}
		if b.sent++; b.sent == 1 {
			b.owed = time.Now()
		}
		b.finished = eos
		b.mu.Unlock()
		m := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
			ResponseBody: &extprocv3.HttpBody{Body: chunk, EndOfStream: eos}}, MetadataContext: md}
		md = nil
		if err := b.ex.send(m); err != nil {
			b.mu.Lock()
			b.pumpErr = fmt.Errorf("endpoint picker: %w", err)
			b.mu.Unlock()
			return
		}
		if eos {
			b.ex.closeSend()
			return
		}
	}
}

func (b *duplexBody) Read(p []byte) (int, error) {
	timer := time.NewTimer(b.ex.c.opts.ResponseTimeout)
	defer timer.Stop()
	for len(b.buf) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.done {
			return 0, io.EOF
		}
		select {
		case r, ok := <-b.ex.recv:
			timer.Reset(b.ex.c.opts.ResponseTimeout)
			b.handle(r, ok)
		case <-b.pumpDone:
			b.mu.Lock()
			err := b.pumpErr
			b.mu.Unlock()
			if err != nil {
				b.fail(err)
			}
			b.pumpDone = nil // the pump finished: keep reading replies
		case <-timer.C:
			// The picker has ResponseTimeout from the chunk it owes a reply for, not from this
			// wait's start: a model server slow to its first token sends it late in the wait.
			b.mu.Lock()
			owed, since := b.sent > 0, b.owed
			b.mu.Unlock()
			left := b.ex.c.opts.ResponseTimeout
			if owed {
				if left -= time.Since(since); left <= 0 {
					b.fail(fail("timeout", "no reply to the response body within %v", b.ex.c.opts.ResponseTimeout))
					continue
				}
			}
			timer.Reset(left)
		}
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

// handle applies one reply of the picker during the response body.
func (b *duplexBody) handle(r received, ok bool) {
	switch {
	case !ok:
		b.fail(fail("stream_closed", "the picker closed the stream during the response"))
		return
	case r.err != nil:
		b.fail(classify(r.err, context.Background()))
		return
	}
	var mut *extprocv3.BodyMutation
	switch v := r.m.GetResponse().(type) {
	case *extprocv3.ProcessingResponse_ResponseTrailers:
		return
	case *extprocv3.ProcessingResponse_ResponseBody:
		mut = v.ResponseBody.GetResponse().GetBodyMutation()
	default:
		b.fail(fail("invalid", "reply %T during the response body", r.m.GetResponse()))
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = 0
	if mut == nil {
		if len(b.queue) > 0 {
			b.buf = b.queue[0]
			b.queue = b.queue[1:]
		}
		b.done = len(b.queue) == 0 && b.finished
		return
	}
	sr := mut.GetStreamedResponse()
	if sr == nil {
		b.mu.Unlock()
		b.fail(fail("invalid", "full-duplex response body reply without a streamed response"))
		b.mu.Lock()
		return
	}
	b.streamed, b.queue = true, nil
	b.buf = sr.GetBody()
	b.done = sr.GetEndOfStream()
}

func (b *duplexBody) fail(err error) {
	if b.err == nil {
		b.ex.c.metrics.errors.WithLabelValues(b.ex.h.name, "response").Inc()
		b.ex.c.log.Warn("endpoint picker failed during the response body", "pool", b.ex.h.name, "error", err)
		b.err = err
		b.ex.close()
	}
}

func (b *duplexBody) Close() error {
	b.ex.close()
	return b.up.Close()
}

// streamedBody sends each chunk and waits for its reply (Envoy's STREAMED mode).
type streamedBody struct {
	ex   *exchange
	up   io.ReadCloser
	md   *corev3.Metadata
	buf  []byte
	raw  []byte
	done bool
}

func (s *streamedBody) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.done {
			return 0, io.EOF
		}
		if s.raw == nil {
			s.raw = make([]byte, 32<<10)
		}
		n, err := s.up.Read(s.raw)
		eos := errors.Is(err, io.EOF)
		if err != nil && !eos {
			return 0, err
		}
		chunk := s.raw[:n]
		m := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
			ResponseBody: &extprocv3.HttpBody{Body: chunk, EndOfStream: eos}}, MetadataContext: s.md}
		s.md = nil
		if err := s.ex.send(m); err != nil {
			return 0, s.fail(classify(err, context.Background()))
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.ex.c.opts.ResponseTimeout)
		reply, err := s.ex.next(ctx)
		cancel()
		if err != nil {
			return 0, s.fail(err)
		}
		br, ok := reply.GetResponse().(*extprocv3.ProcessingResponse_ResponseBody)
		if !ok {
			return 0, s.fail(fail("invalid", "reply %T to a response body chunk", reply.GetResponse()))
		}
		s.buf = replaceBody(br.ResponseBody.GetResponse().GetBodyMutation(), bytes.Clone(chunk))
		if eos {
			s.done = true
			s.ex.close()
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *streamedBody) fail(err error) error {
	s.ex.c.metrics.errors.WithLabelValues(s.ex.h.name, "response").Inc()
	s.ex.close()
	return err
}

func (s *streamedBody) Close() error {
	s.ex.close()
	return s.up.Close()
}
