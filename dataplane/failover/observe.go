package failover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a backend attempt failed, as metric labels and in the failover chain.
const (
	Reason5xx     = "5xx"
	ReasonConnect = "connect"
	ReasonReset   = "reset"
	ReasonTimeout = "timeout"
	ReasonError   = "error"
)

// Headers the failover handler sets on responses.
const (
	// HeaderBackend names the backend that served the response.
	HeaderBackend = "x-gateway-backend"
	// HeaderFailover lists the failed attempts and the backend that served, after a failover.
	HeaderFailover = "x-gateway-failover"
)

// Metrics are the failover counters; build them once per registry and share them between
// handlers (and across reloads).
type Metrics struct {
	failovers *prometheus.CounterVec
	ejections *prometheus.CounterVec
	exhausted *prometheus.CounterVec
}

// NewMetrics registers the failover metrics with reg (nil: not registered). Calling it again
// with the same registry returns counters shared with the first call.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_failover_total",
			Help: "Requests moved from one backend to the next before the first response byte, by reason.",
		}, []string{"route", "from", "to", "reason"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_backend_ejections_total",
			Help: "Backends ejected by outlier detection or active health checks.",
		}, []string{"route", "backend"}),
		exhausted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_failover_exhausted_total",
			Help: "Requests that failed on every backend tried, or that the retry budget stopped, by reason.",
		}, []string{"route", "reason"}),
	}
	if reg != nil {
		for _, c := range []**prometheus.CounterVec{&m.failovers, &m.ejections, &m.exhausted} {
			if err := reg.Register(*c); err != nil {
				// A second NewMetrics on the same registry (a reload) shares the first one's counters.
				var are prometheus.AlreadyRegisteredError
				if errors.As(err, &are) {
					if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
						*c = existing
						continue
					}
				}
				return nil, fmt.Errorf("failover metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Attempt is one backend tried for a request.
type Attempt struct {
	Backend string
	// Reason is why it failed, or "" for the backend that served.
	Reason string
	Status int
}

// Attempts is the failover chain of one request, for the access log.
type Attempts struct {
	mu   sync.Mutex
	list []Attempt
}

// List returns a copy of the attempts so far.
func (a *Attempts) List() []Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Attempt(nil), a.list...)
}

// String is the chain as in the x-gateway-failover header: "anthropic:5xx,openai".
func (a *Attempts) String() string { return chain(a.List()) }

func (a *Attempts) add(at Attempt) {
	a.mu.Lock()
	a.list = append(a.list, at)
	a.mu.Unlock()
}

type attemptsKey struct{}

// Track returns a context on which the failover handler records its attempts: the access log
// middleware calls it before the route's handler and reads the Attempts after.
func Track(ctx context.Context) (context.Context, *Attempts) {
	a := &Attempts{}
	return context.WithValue(ctx, attemptsKey{}, a), a
}

func tracked(ctx context.Context) *Attempts {
	a, _ := ctx.Value(attemptsKey{}).(*Attempts)
	return a
}

func chain(list []Attempt) string {
	var b strings.Builder
	for i, a := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.Backend)
		if a.Reason != "" {
			b.WriteByte(':')
			b.WriteString(a.Reason)
		}
	}
	return b.String()
}

// errSlot carries a transport error from a backend handler to the failover handler.
type errSlot struct {
	mu  sync.Mutex
	err error
}

type errKey struct{}

// RecordError tells the failover handler why a backend attempt failed (a dial error, a reset,
// a timeout), so the failover is counted with the right reason. A backend handler calls it
// from its error path (httputil.ReverseProxy's ErrorHandler) before writing its 5xx; outside a
// failover handler it does nothing.
func RecordError(ctx context.Context, err error) {
	if s, ok := ctx.Value(errKey{}).(*errSlot); ok && err != nil {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}
}

func (s *errSlot) get() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// classify names the reason for a transport error.
func classify(err error) string {
	var ne net.Error
	var op *net.OpError
	switch {
	case err == nil:
		return Reason5xx
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &op) && op.Op == "dial":
		return ReasonConnect
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF), errors.Is(err, errAbort):
		return ReasonReset
	}
	return ReasonError
}
