package mcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/infergw/gwctl/dataplane/sse"
)

// get opens a target's server-to-client stream for an upstream session.
func (u *upstream) get(ctx context.Context, ts targetSession, lastEventID string) (*reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
	if err != nil {
		return nil, &unavailableError{u.Name, err}
	}
	req.Header.Set("Accept", "text/event-stream")
	if ts.SessionID != "" {
		req.Header.Set("Mcp-Session-Id", ts.SessionID)
	}
	if ts.Version != "" {
		req.Header.Set("Mcp-Protocol-Version", ts.Version)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, &unavailableError{u.Name, err}
	}
	return u.toReply(resp)
}

// openStreams serves a session's GET stream.
func (h *Handler) openStreams(x *exchange, lastEventID string) {
	var ups []*upstream
	for _, u := range x.targets() {
		if u.Protocol != SSE {
			ups = append(ups, u)
		}
	}
	if len(ups) == 0 {
		x.w.Header().Set("Allow", "POST, DELETE")
		writeRPCError(x.w, http.StatusMethodNotAllowed, nil, &rpcError{Code: codeServerError, Message: "Method not allowed: no target offers a stream"})
		return
	}
	// Cancelling sctx aborts the upstream reads, so each reader goroutine closes its own stream.
	sctx, cancel := context.WithCancel(x.ctx)
	defer cancel()
	if !h.multi {
		u := ups[0]
		ts, _ := x.sess.target(u.Name)
		r, err := u.get(sctx, ts, lastEventID)
		if err != nil {
			if r != nil {
				writeRPCError(x.w, r.status, nil, &rpcError{Code: codeServerError, Message: http.StatusText(r.status)})
				return
			}
			x.h.metrics.targetFailures.WithLabelValues(u.Name).Inc()
			writeRPCError(x.w, http.StatusBadGateway, nil, &rpcError{Code: codeUpstreamUnavailable, Message: "MCP target " + u.Name + " is unavailable"})
			return
		}
		defer r.close()
		if r.status != http.StatusOK || r.json {
			x.relay(u, r)
			return
		}
		h.pump(x, cancel, []*upstream{u}, []*reply{r})
		return
	}
	// Several targets: resume the one the last event came from, open the others afresh.
	resumeTarget, resumeID, _ := strings.Cut(lastEventID, "/")
	replies := make([]*reply, len(ups))
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Go(func() {
			ts, _ := x.sess.target(u.Name)
			id := ""
			if u.Name == resumeTarget {
				id = resumeID
			}
			r, err := u.get(sctx, ts, id)
			if err != nil || r.status != http.StatusOK || r.json || r.src == nil {
				r.close()
				return
			}
			replies[i] = r
		})
	}
	wg.Wait()
	var open []*upstream
	var rs []*reply
	for i, r := range replies {
		if r != nil {
			open = append(open, ups[i])
			rs = append(rs, r)
		}
	}
	if len(open) == 0 {
		x.w.Header().Set("Allow", "POST, DELETE")
		writeRPCError(x.w, http.StatusMethodNotAllowed, nil, &rpcError{Code: codeServerError, Message: "Method not allowed: no target offers a stream"})
		return
	}
	h.pump(x, cancel, open, rs)
}

// pump copies events from the targets' streams to the client until all end or the client leaves.
func (h *Handler) pump(x *exchange, cancel context.CancelFunc, ups []*upstream, rs []*reply) {
	w := x.w
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	type item struct {
		u  *upstream
		ev sse.Event
	}
	ctx := x.ctx
	ch := make(chan item)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range rs {
		u := ups[i]
		wg.Go(func() {
			defer r.close()
			for {
				ev, err := r.src.next()
				if err != nil {
					if !errors.Is(err, io.EOF) && ctx.Err() == nil {
						h.metrics.targetFailures.WithLabelValues(u.Name).Inc()
					}
					return
				}
				ev.Data = bytes.Clone(ev.Data) // the reader reuses it on its next call, while this one is written
				select {
				case ch <- item{u, ev}:
				case <-ctx.Done():
					return
				case <-stop:
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(ch) }()
	for it := range ch {
		ev := it.ev
		if h.multi && ev.HasID && ev.ID != "" {
			ev.ID = it.u.Name + "/" + ev.ID
		}
		if len(ev.Data) > 0 && (ev.Name == "" || ev.Name == "message") {
			ev.Data, _ = x.outgoing(it.u, ev.Data)
		}
		if writeEvent(w, ev) != nil || rc.Flush() != nil {
			close(stop)
			cancel()
			for range ch {
			}
			return
		}
	}
}
