package pool

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"syscall"
)

// fallbackTransport sends the request to the decision's endpoints in order: it moves on after a
// connect failure (marking the endpoint unreachable until a scrape succeeds) or a 503 from the
// model server, as long as the body can be sent again.
type fallbackTransport struct {
	p    *Pool
	base http.RoundTripper
}

func (t *fallbackTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	dp, _ := req.Context().Value(dispatchKey{}).(*dispatch)
	if dp == nil {
		return t.base.RoundTrip(req)
	}
	var lastErr error
	for i, e := range dp.d.order {
		last := i == len(dp.d.order)-1
		out := req
		if i > 0 {
			out = req.Clone(req.Context())
			t.p.metrics.fallbacks.Inc()
			t.move(dp, e)
		}
		out.URL.Host = e.addr
		if dp.replay != nil {
			out.Body = io.NopCloser(bytes.NewReader(dp.replay))
			out.ContentLength = int64(len(dp.replay))
		}
		resp, err := t.base.RoundTrip(out)
		replayable := dp.replay != nil || dp.body == nil || !dp.body.read.Load()
		if err != nil {
			lastErr = err
			if retryable(err) {
				e.unreachable.Store(true)
				t.p.log.Warn("endpoint unreachable", "pool", t.p.cfg.Name, "endpoint", e.addr, "error", err)
				if !last && replayable {
					continue
				}
			}
			return nil, err
		}
		if resp.StatusCode == http.StatusServiceUnavailable && !last && replayable && (dp.replay != nil || dp.body == nil) {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			continue
		}
		if t.p.cfg.ExposeServedEndpoint {
			resp.Header.Set(HeaderServed, e.addr)
		}
		return resp, nil
	}
	return nil, lastErr
}

// move transfers the in-flight count to the endpoint now being tried.
func (t *fallbackTransport) move(dp *dispatch, to *endpoint) {
	dp.holder.inFlight.Add(-1)
	dp.holder.tokens.Add(-dp.tokens)
	to.inFlight.Add(1)
	to.tokens.Add(dp.tokens)
	dp.holder = to
}

// retryable reports failures that happen before the model server could have answered: a failed
// connect, or a pooled connection the (dead) server reset or closed.
func retryable(err error) bool {
	return isConnectError(err) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE)
}
