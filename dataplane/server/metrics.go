package server

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infergw/gwctl/dataplane/proxy"
)

// Metrics are the dataplane's request and config metrics.
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	reloads        *prometheus.CounterVec
	lastReload     prometheus.Gauge
	inflight       prometheus.Gauge
	streams        prometheus.Gauge

	// resolved holds the request counter and duration histogram of each route, backend and
	// status seen, so a request looks them up in one map, not two label-hashing Vec lookups.
	mu       sync.RWMutex
	resolved map[seriesKey]*series
}

type seriesKey struct {
	route, backend string
	code           int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// series returns the request metrics of route, backend and status code.
func (m *Metrics) series(route, backend string, code int) *series {
	k := seriesKey{route, backend, code}
	m.mu.RLock()
	s := m.resolved[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	l := codeLabel(code)
	s = &series{requests: m.requests.WithLabelValues(route, backend, l), duration: m.duration.WithLabelValues(route, backend, l)}
	m.mu.Lock()
	if len(m.resolved) >= maxResolved {
		clear(m.resolved) // routes come and go with reloads: keep the map bounded
	}
	m.resolved[k] = s
	m.mu.Unlock()
	return s
}

// maxResolved bounds Metrics.resolved; past it the map starts again (the series stay registered).
const maxResolved = 4096

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dataplane_requests_total", Help: "Requests served, by route, backend and HTTP status.",
		}, []string{"route", "backend", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dataplane_request_duration_seconds", Help: "Time from request start to the end of the response, by route, backend and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"route", "backend", "code"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dataplane_upstream_errors_total", Help: "Failed upstream calls by backend and cause (timeout, client_canceled, connect, body_too_large, protocol).",
		}, []string{"backend", "cause"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dataplane_config_reloads_total", Help: "Config loads by result (success, failure); a failure keeps the previous config.",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dataplane_config_last_reload_success_timestamp_seconds", Help: "When the config in use was loaded.",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dataplane_requests_in_flight", Help: "Requests being served.",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dataplane_streams_in_flight", Help: "Streaming responses (text/event-stream) being served.",
		}),
		resolved: map[seriesKey]*series{},
	}
	reg.MustRegister(m.requests, m.duration, m.upstreamErrors, m.reloads, m.lastReload, m.inflight, m.streams)
	return m
}

// UpstreamError counts a failed upstream call; pass it (bound to a backend) as proxy.Options.OnError.
func (m *Metrics) UpstreamError(backend string) func(proxy.Cause) {
	if m == nil {
		return nil
	}
	return func(c proxy.Cause) { m.upstreamErrors.WithLabelValues(backend, string(c)).Inc() }
}

// Reload counts a config load attempt.
func (m *Metrics) Reload(ok bool, unixSeconds float64) {
	if m == nil {
		return
	}
	if ok {
		m.reloads.WithLabelValues("success").Inc()
		m.lastReload.Set(unixSeconds)
		return
	}
	m.reloads.WithLabelValues("failure").Inc()
}

var codes = func() (c [600]string) {
	for i := range c {
		c[i] = strconv.Itoa(i)
	}
	return
}()

func codeLabel(code int) string {
	if code >= 0 && code < len(codes) {
		return codes[code]
	}
	return strconv.Itoa(code)
}
