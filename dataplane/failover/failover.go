package failover

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// Backend is one provider of a priority group.
type Backend struct {
	// Name is the provider's name (spec.ai.groups[].providers[].name); unique within the route.
	Name string
	// Kind describes the backend for logs and spans (e.g. "anthropic", "openai", "inference-pool").
	Kind    string
	Handler http.Handler
	// Probe is the optional active health check (see ProbeURL for an HTTP GET).
	Probe func(context.Context) error
}

// Config is one route's priority groups and failover settings.
type Config struct {
	// Route names the route in metrics and logs (e.g. "inference/egress-anthropic").
	Route string
	// Priorities are the priority groups, primary first (spec.ai.groups).
	Priorities [][]Backend
	Outlier    Outlier
	Active     ActiveHealth
	Budget     Budget
	// MaxBodyBytes is the largest request body buffered for replay (default 4 MiB); a larger
	// body is streamed to the first backend and the request does not fail over.
	MaxBodyBytes int64
	// AttemptTimeout fails over when a backend has committed no status in this time
	// (0: only the backend's own timeouts apply).
	AttemptTimeout time.Duration
}

// Deps are the handler's collaborators; all optional.
type Deps struct {
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

type member struct {
	Backend
	health *health
}

// Failover is the route's handler over its priority groups. Close stops its health checks.
type Failover struct {
	cfg    Config
	log    *slog.Logger
	m      *Metrics
	now    func() time.Time
	groups [][]*member
	rr     []atomic.Uint32
	budget *budget
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the handler for one route.
func New(cfg Config, deps Deps) (*Failover, error) {
	if len(cfg.Priorities) == 0 {
		return nil, fmt.Errorf("failover %s: no priority groups", cfg.Route)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	cfg.Outlier = cfg.Outlier.withDefaults()
	f := &Failover{cfg: cfg, log: deps.Logger, m: deps.Metrics, now: deps.Now}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.m == nil {
		f.m, _ = NewMetrics(nil)
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.budget = newBudget(cfg.Budget, f.now)
	seen := map[string]bool{}
	for i, g := range cfg.Priorities {
		if len(g) == 0 {
			return nil, fmt.Errorf("failover %s: priority group %d has no backends", cfg.Route, i)
		}
		var ms []*member
		for j, b := range g {
			if b.Name == "" || b.Handler == nil {
				return nil, fmt.Errorf("failover %s: groups[%d].providers[%d]: a backend needs a name and a handler", cfg.Route, i, j)
			}
			if seen[b.Name] {
				return nil, fmt.Errorf("failover %s: groups[%d].providers[%d]: duplicate backend name %q", cfg.Route, i, j, b.Name)
			}
			seen[b.Name] = true
			ms = append(ms, &member{Backend: b, health: &health{}})
		}
		f.groups = append(f.groups, ms)
	}
	f.rr = make([]atomic.Uint32, len(f.groups))
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	if cfg.Active.Interval > 0 {
		for _, g := range f.groups {
			for _, m := range g {
				if m.Probe == nil {
					continue
				}
				f.wg.Add(1)
				go probeLoop(ctx, &f.wg, cfg.Active, m.Probe, m.health, func(up bool) {
					if !up {
						f.m.ejections.WithLabelValues(cfg.Route, m.Name).Inc()
					}
					f.log.Info("backend active health changed", "route", cfg.Route, "backend", m.Name, "up", up)
				})
			}
		}
	}
	return f, nil
}

// Close stops the active health checks and waits for them.
func (f *Failover) Close() error {
	f.stop()
	f.wg.Wait()
	return nil
}

// order is every backend, primary group first, each group rotated for spreading.
func (f *Failover) order() []*member {
	var out []*member
	for i, g := range f.groups {
		start := 0
		if len(g) > 1 {
			start = int(f.rr[i].Add(1)) % len(g)
		}
		for j := range g {
			out = append(out, g[(start+j)%len(g)])
		}
	}
	return out
}

func (f *Failover) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.budget.request()
	body, replayable, err := readBody(r, f.cfg.MaxBodyBytes)
	if err != nil {
		apierror.Write(w, &apierror.Error{Status: http.StatusBadRequest, Type: apierror.ErrInvalidRequest, Message: "reading the request body failed"})
		return
	}
	attempts := tracked(r.Context())
	var (
		failed      []Attempt
		last        *hold
		prev        *member
		prevWhy     string
		tried       int
		served, end bool
		stoppedBy   string // "budget" when the retry budget ended the attempts
	)
	run := func(m *member, probe bool) {
		if tried > 0 {
			if !replayable || !f.budget.retry() {
				if replayable {
					stoppedBy = "budget"
				}
				m.health.release(probe)
				end = true
				return
			}
			f.m.failovers.WithLabelValues(f.cfg.Route, prev.Name, m.Name, prevWhy).Inc()
			if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
				span.AddEvent("gateway.failover", trace.WithAttributes(
					attribute.String("gateway.failover.from", prev.Name),
					attribute.String("gateway.failover.to", m.Name),
					attribute.String("gateway.failover.to_kind", m.Kind),
					attribute.String("gateway.failover.reason", prevWhy)))
			}
			f.log.Debug("failover", "route", f.cfg.Route, "from", prev.Name, "to", m.Name, "reason", prevWhy)
		}
		tried++
		h, why, ok := f.attempt(w, r, m, probe, body, replayable, failed)
		at := Attempt{Backend: m.Name, Status: h.status}
		if ok {
			served, end = true, true
		} else {
			at.Reason = why
			failed = append(failed, at)
			last, prev, prevWhy = h, m, why
			end = r.Context().Err() != nil
		}
		if attempts != nil {
			attempts.add(at)
		}
	}
	all := f.order()
	for _, m := range all {
		if end {
			break
		}
		if ok, probe := m.health.acquire(f.now()); ok {
			run(m, probe)
		}
	}
	if tried == 0 {
		// Every backend is ejected: try them anyway, in priority order, rather than fail outright.
		for _, m := range all {
			if end {
				break
			}
			run(m, false)
		}
	}
	if !served && last != nil && r.Context().Err() == nil {
		if stoppedBy == "" {
			stoppedBy = prevWhy
		}
		f.m.exhausted.WithLabelValues(f.cfg.Route, stoppedBy).Inc()
		last.decorate = decorator(prev.Name, failed[:len(failed)-1])
		if last.status != 0 {
			last.replay()
			return
		}
		code := http.StatusBadGateway
		if prevWhy == ReasonTimeout {
			code = http.StatusGatewayTimeout
		}
		decorator(prev.Name, failed[:len(failed)-1])(w.Header())
		apierror.Write(w, &apierror.Error{Status: code, Type: "upstream_error", Message: fmt.Sprintf("no backend answered (last: %s, %s)", prev.Name, prevWhy)})
	}
}

// decorator sets the response headers naming the backend that answered and the failed ones before it.
func decorator(name string, failed []Attempt) func(http.Header) {
	return func(h http.Header) {
		h.Set(HeaderBackend, name)
		if len(failed) > 0 {
			h.Set(HeaderFailover, chain(append(append([]Attempt(nil), failed...), Attempt{Backend: name})))
		}
	}
}

// attempt runs one backend. ok reports that it answered the client (its status is not a
// failure); otherwise why says what failed and the hold keeps any 5xx response it wrote.
func (f *Failover) attempt(w http.ResponseWriter, r *http.Request, m *member, probe bool, body []byte, replayable bool, failed []Attempt) (h *hold, why string, ok bool) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	slot := &errSlot{}
	ctx = context.WithValue(ctx, errKey{}, slot)
	req := r.Clone(ctx)
	if replayable {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	} else {
		req.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	}
	h = newHold(w, !replayable, decorator(m.Name, failed))
	if f.cfg.AttemptTimeout > 0 && replayable {
		t := time.AfterFunc(f.cfg.AttemptTimeout, func() {
			if h.abandon() {
				cancel()
			}
		})
		defer t.Stop()
	}
	aborted := serve(m.Handler, h, req)
	committed, failedStatus, abandoned, status := h.result()
	if !committed && !failedStatus && !abandoned && !aborted {
		h.commitEmpty()
		committed, status = true, http.StatusOK
	}
	switch {
	case r.Context().Err() != nil && !committed:
		// The client went away: say nothing about the backend.
		m.health.release(probe)
		return h, ReasonError, false
	case committed:
		if aborted || slot.get() != nil {
			// The stream broke after its first byte: never a silent switch.
			f.fail(m, probe)
			if aborted {
				endStream(w, r, m.Name)
			}
			return h, "", true
		}
		if status >= 500 {
			f.fail(m, probe) // passthrough: the request could not fail over
		} else {
			m.health.success()
		}
		return h, "", true
	case abandoned:
		why = ReasonTimeout
	case aborted:
		why = ReasonReset
	default:
		why = classify(slot.get())
	}
	f.fail(m, probe)
	return h, why, false
}

func (f *Failover) fail(m *member, probe bool) {
	if m.health.failure(f.now(), f.cfg.Outlier, probe) {
		f.m.ejections.WithLabelValues(f.cfg.Route, m.Name).Inc()
		f.log.Info("backend ejected", "route", f.cfg.Route, "backend", m.Name)
	}
}

// serve runs a backend handler, turning an abort (panic(http.ErrAbortHandler), as
// httputil.ReverseProxy does when the upstream breaks mid-body) into a result.
func serve(handler http.Handler, w http.ResponseWriter, r *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			aborted = true
		}
	}()
	handler.ServeHTTP(w, r)
	return false
}

// endStream ends a response whose backend broke after the first byte: an event stream gets an
// error event in the client's API shape; any other body is aborted, so the client sees a
// broken response rather than a short one.
func endStream(w http.ResponseWriter, r *http.Request, backend string) {
	if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream") {
		panic(http.ErrAbortHandler)
	}
	msg := "the upstream stream from backend " + backend + " ended early"
	var ev []byte
	if strings.HasSuffix(r.URL.Path, "/messages") {
		b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": "api_error", "message": msg}})
		ev = append(append([]byte("event: error\ndata: "), b...), "\n\n"...)
	} else {
		e := apierror.Error{Type: "upstream_error", Code: "stream_interrupted", Message: msg}
		ev = append(e.AppendJSON([]byte("data: ")), "\n\n"...)
	}
	_, _ = w.Write(ev)
	_ = http.NewResponseController(w).Flush()
}

// readBody buffers up to max bytes; replayable is false when the body is larger, and then the
// returned bytes are the start of a body whose rest is still in r.Body.
func readBody(r *http.Request, limit int64) (body []byte, replayable bool, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, true, nil
	}
	if r.ContentLength > limit {
		return nil, false, nil
	}
	if r.ContentLength >= 0 {
		// Known length (net/http enforces it): one exact allocation.
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, false, fmt.Errorf("reading request body: %w", err)
		}
		return b, true, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, 4096))
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, false, fmt.Errorf("reading request body: %w", err)
	}
	if n > limit {
		return buf.Bytes(), false, nil
	}
	return buf.Bytes(), true, nil
}

// Priorities maps priority groups of any provider type (the compiled spec.ai.groups) to
// backends, keeping the order: groups[i][j] becomes Priorities[i][j].
func Priorities[T any](groups [][]T, backend func(T) (Backend, error)) ([][]Backend, error) {
	out := make([][]Backend, 0, len(groups))
	for i, g := range groups {
		bs := make([]Backend, 0, len(g))
		for j, p := range g {
			b, err := backend(p)
			if err != nil {
				return nil, fmt.Errorf("spec.ai.groups[%d].providers[%d]: %w", i, j, err)
			}
			bs = append(bs, b)
		}
		out = append(out, bs)
	}
	return out, nil
}
