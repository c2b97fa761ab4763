package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/infergw/gwctl/dataplane/sse"
)

// sendSSE delivers c to a target on the deprecated HTTP+SSE transport. Its sessions live as long as
// one GET stream, which no other replica could continue, so every call runs in a session of its own:
// open the stream, read the endpoint, initialize, post c, relay the stream up to c's response, close.
// A notification or response from the client is posted the same way and not waited for.
func (u *upstream) sendSSE(ctx context.Context, c *call) (*reply, error) {
	sctx, cancel := context.WithCancel(ctx)
	fail := func(err error) (*reply, error) {
		cancel()
		return nil, &unavailableError{u.Name, err}
	}
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, u.URL, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := u.client.Do(req)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fail(fmt.Errorf("SSE stream: HTTP %d", resp.StatusCode))
	}
	src := newSSESource(resp.Body, cancel)
	endpoint := ""
	for endpoint == "" {
		ev, err := src.next()
		if err != nil {
			src.close()
			return nil, &unavailableError{u.Name, fmt.Errorf("SSE stream ended before its endpoint event: %w", err)}
		}
		if ev.Name == "endpoint" {
			if endpoint, err = resolveEndpoint(u.URL, string(ev.Data)); err != nil {
				src.close()
				return nil, &unavailableError{u.Name, fmt.Errorf("SSE endpoint %q: %w", ev.Data, err)}
			}
		}
	}
	postTo := func(body []byte) error {
		r, err := u.post(sctx, endpoint, &call{body: body}, targetSession{})
		if err != nil {
			return err
		}
		r.close()
		if r.status/100 != 2 {
			return fmt.Errorf("SSE post: HTTP %d", r.status)
		}
		return nil
	}
	if c.isInit {
		if err := postTo(c.body); err != nil {
			src.close()
			return nil, err
		}
		return &reply{status: http.StatusOK, header: http.Header{}, src: &untilResponse{src: src, id: c.id}}, nil
	}
	if err := postTo(initBody(c.session.Version)); err != nil {
		src.close()
		return nil, err
	}
	initReply := &reply{status: http.StatusOK, src: src}
	m, err := awaitResponse(initReply, json.RawMessage(`"gw-init"`))
	if err != nil || m.Error != nil {
		src.close()
		if err == nil {
			err = m.Error
		}
		return nil, &unavailableError{u.Name, fmt.Errorf("initialize: %w", err)}
	}
	if err := postTo(initializedBody); err != nil {
		src.close()
		return nil, err
	}
	if err := postTo(c.body); err != nil {
		src.close()
		return nil, err
	}
	if c.id == nil {
		src.close()
		return &reply{status: http.StatusAccepted}, nil
	}
	return &reply{status: http.StatusOK, header: http.Header{}, src: &untilResponse{src: src, id: c.id}}, nil
}

// untilResponse relays a shared SSE stream's message events up to the response to id.
type untilResponse struct {
	src  eventSource
	id   json.RawMessage
	done bool
}

func (s *untilResponse) next() (sse.Event, error) {
	for {
		if s.done {
			return sse.Event{}, io.EOF
		}
		ev, err := s.src.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return sse.Event{}, io.ErrUnexpectedEOF
			}
			return sse.Event{}, err
		}
		if ev.Name != "" && ev.Name != "message" {
			continue
		}
		var m message
		if json.Unmarshal(ev.Data, &m) == nil && m.kind() == kindResponse && bytes.Equal(m.ID, s.id) {
			s.done = true
		}
		// The old transport's events carry no ids worth resuming from.
		ev.ID, ev.HasID = "", false
		return ev, nil
	}
}

func (s *untilResponse) close() { s.src.close() }
