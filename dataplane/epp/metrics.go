package epp

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// latencyBuckets span a loopback round trip (tens of µs) to a picker that buffers a long prompt.
var latencyBuckets = []float64{5e-5, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5}

// clientMetrics are the EPP client's series, labelled by pool.
type clientMetrics struct {
	pick     *prometheus.HistogramVec
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

func newClientMetrics(reg prometheus.Registerer) (*clientMetrics, error) {
	m := &clientMetrics{
		pick: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gwctl_epp_pick_duration_seconds",
			Help:    "Time the endpoint picker's request phase adds before the model server is called (stream open, headers and body sent, pick read).",
			Buckets: latencyBuckets,
		}, []string{"pool"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwctl_epp_requests_total",
			Help: "Requests to pools with an endpoint picker, by outcome: picked, immediate (the picker answered itself), fail_open (in-process picker used), fail_close (503).",
		}, []string{"pool", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwctl_epp_errors_total",
			Help: "Endpoint picker failures by reason: unavailable, timeout, stream_closed, epp_error, invalid (a reply outside the protocol), no_destination, not_in_pool, response (in a response phase).",
		}, []string{"pool", "reason"}),
	}
	var err error
	if m.pick, err = register(reg, m.pick); err != nil {
		return nil, err
	}
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
		return nil, err
	}
	return m, nil
}

// serverMetrics are the EPP server's series.
type serverMetrics struct {
	pick     *prometheus.HistogramVec
	requests *prometheus.CounterVec
}

func newServerMetrics(reg prometheus.Registerer) (*serverMetrics, error) {
	m := &serverMetrics{
		pick: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gwctl_epp_server_pick_duration_seconds",
			Help:    "Time from the end of a request's body (or headers) to the pick being sent.",
			Buckets: latencyBuckets,
		}, []string{"pool"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwctl_epp_server_requests_total",
			Help: "ext_proc streams by outcome: picked, refused (an immediate response: 400, 413, 429, 503), invalid (a request outside the protocol), aborted.",
		}, []string{"pool", "outcome"}),
	}
	var err error
	if m.pick, err = register(reg, m.pick); err != nil {
		return nil, err
	}
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the collector of the same name already registered (a
// reload builds the client again).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("epp metrics: %w", err)
	}
	return c, nil
}
