package failover

import (
	"bytes"
	"errors"
	"net/http"
	"sync"
)

// maxHeldBody bounds the body of a failed (5xx) response kept in case it is the last one.
const maxHeldBody = 64 << 10

var (
	errAbort     = errors.New("backend aborted the response")
	errAbandoned = errors.New("failover: attempt abandoned after its timeout")
)

// hold is the ResponseWriter a backend attempt writes to. It holds the response until the
// backend commits a status: a 5xx is kept aside (the next backend may serve instead), any
// other status is sent to the client, and from then on the attempt owns the response.
type hold struct {
	w      http.ResponseWriter
	header http.Header
	// passthrough commits every status, 5xx included: the request cannot fail over.
	passthrough bool
	// decorate sets the failover headers on the committed response.
	decorate func(http.Header)

	mu        sync.Mutex
	status    int
	committed bool
	failed    bool // a 5xx was written before commit
	abandoned bool // the attempt timed out before committing
	body      bytes.Buffer
}

func newHold(w http.ResponseWriter, passthrough bool, decorate func(http.Header)) *hold {
	return &hold{w: w, header: http.Header{}, passthrough: passthrough, decorate: decorate}
}

// Header is the held header until the response is committed, then the client's, so trailers
// set after the body still reach the client. Only the handler's goroutine calls it and
// commits, so reading committed needs no lock.
func (h *hold) Header() http.Header {
	if h.committed {
		return h.w.Header()
	}
	return h.header
}

func (h *hold) WriteHeader(code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writeHeaderLocked(code)
}

func (h *hold) writeHeaderLocked(code int) {
	if h.committed || h.failed || h.abandoned || (code >= 100 && code < 200) {
		return
	}
	h.status = code
	if code >= 500 && !h.passthrough {
		h.failed = true
		return
	}
	dst := h.w.Header()
	for k, v := range h.header {
		dst[k] = v
	}
	h.decorate(dst)
	h.committed = true
	h.w.WriteHeader(code)
}

func (h *hold) Write(p []byte) (int, error) {
	h.mu.Lock()
	if !h.committed && !h.failed && !h.abandoned {
		h.writeHeaderLocked(http.StatusOK)
	}
	switch {
	case h.abandoned:
		h.mu.Unlock()
		return 0, errAbandoned
	case h.failed:
		if room := maxHeldBody - h.body.Len(); room > 0 {
			h.body.Write(p[:min(len(p), room)])
		}
		h.mu.Unlock()
		return len(p), nil
	}
	h.mu.Unlock()
	return h.w.Write(p)
}

// Flush sends buffered bytes on once the response is committed.
func (h *hold) Flush() {
	h.mu.Lock()
	if !h.committed && !h.failed && !h.abandoned {
		h.writeHeaderLocked(http.StatusOK)
	}
	ok := h.committed
	h.mu.Unlock()
	if ok {
		_ = http.NewResponseController(h.w).Flush()
	}
}

// Unwrap lets http.ResponseController reach the client connection (deadlines).
func (h *hold) Unwrap() http.ResponseWriter { return h.w }

// abandon marks a not yet committed attempt as timed out; it reports whether it did.
func (h *hold) abandon() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.committed || h.failed {
		return false
	}
	h.abandoned = true
	return true
}

// result is the attempt's outcome once its handler returned.
func (h *hold) result() (committed, failed, abandoned bool, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.committed, h.failed, h.abandoned, h.status
}

// commitEmpty commits a handler that returned without writing: an empty 200, as net/http does.
func (h *hold) commitEmpty() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writeHeaderLocked(http.StatusOK)
}

// replay writes a held 5xx response to the client: it was the last backend's answer.
func (h *hold) replay() {
	dst := h.w.Header()
	for k, v := range h.header {
		dst[k] = v
	}
	h.decorate(dst)
	dst.Del("Content-Length")
	h.w.WriteHeader(h.status)
	_, _ = h.w.Write(h.body.Bytes())
}
