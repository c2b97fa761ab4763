package pool

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// poolMetrics are the picker's own metrics; every series carries const label pool.
type poolMetrics struct {
	pickDuration prometheus.Histogram
	requests     *prometheus.CounterVec
	fallbacks    prometheus.Counter
	scrapeErrors *prometheus.CounterVec
	prefixMatch  prometheus.Histogram
}

func newPoolMetrics(p *Pool, reg prometheus.Registerer) (*poolMetrics, error) {
	cl := prometheus.Labels{"pool": p.cfg.Name}
	m := &poolMetrics{
		pickDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gwctl_pool_pick_duration_seconds", Help: "Time to decide an endpoint (parse, filters, scorers, picker).",
			ConstLabels: cl, Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2},
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwctl_pool_requests_total", Help: "Requests by picking outcome (picked, fail_open, forwarded: picked by an endpoint picker over ext_proc, shed, no_endpoint, bad_request, upstream_error).",
			ConstLabels: cl,
		}, []string{"outcome"}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gwctl_pool_fallbacks_total", Help: "Requests retried on the next endpoint of the ordered list.", ConstLabels: cl,
		}),
		scrapeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwctl_pool_scrape_errors_total", Help: "Failed metrics scrapes by endpoint.", ConstLabels: cl,
		}, []string{"endpoint"}),
		prefixMatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gwctl_pool_prefix_match_ratio", Help: "Best approximate prefix match per decision (matched blocks / blocks).",
			ConstLabels: cl, Buckets: []float64{0, 0.1, 0.25, 0.5, 0.75, 0.9, 1},
		}),
	}
	if reg == nil {
		return m, nil
	}
	// A reload builds the pool again while the old one still serves: the new pool takes over the
	// registered series of the same name (counters continue) and the endpoint collector.
	ec := &endpointCollector{cl: cl}
	ec.p.Store(p)
	for _, c := range []prometheus.Collector{m.pickDuration, m.requests, m.fallbacks, m.scrapeErrors, m.prefixMatch, ec} {
		err := reg.Register(c)
		var are prometheus.AlreadyRegisteredError
		if err == nil {
			continue
		}
		if !errors.As(err, &are) {
			return nil, err
		}
		switch existing := are.ExistingCollector.(type) {
		case prometheus.Histogram:
			if c == m.pickDuration {
				m.pickDuration = existing
			} else {
				m.prefixMatch = existing
			}
		case *prometheus.CounterVec:
			if c == m.requests {
				m.requests = existing
			} else {
				m.scrapeErrors = existing
			}
		case prometheus.Counter:
			m.fallbacks = existing
		case *endpointCollector:
			existing.p.Store(p)
		default:
			return nil, errors.New("pool metrics for pool " + p.cfg.Name + " are registered by something else")
		}
	}
	return m, nil
}

// endpointCollector reports per-endpoint state at collection time, so endpoints that come and go
// need no registration.
type endpointCollector struct {
	p  atomic.Pointer[Pool] // the pool currently serving under this name
	cl prometheus.Labels
}

var endpointDescs = map[string]string{
	"gwctl_pool_endpoint_waiting":             "Scraped vllm:num_requests_waiting.",
	"gwctl_pool_endpoint_running":             "Scraped vllm:num_requests_running.",
	"gwctl_pool_endpoint_kv_cache_usage":      "Scraped KV-cache usage (0..1).",
	"gwctl_pool_endpoint_in_flight":           "Requests this dataplane has in flight to the endpoint.",
	"gwctl_pool_endpoint_metrics_age_seconds": "Age of the last successful scrape (-1 before the first).",
	"gwctl_pool_endpoint_candidate":           "1 when the endpoint may be picked (reachable, scraping, fresh).",
}

func (c *endpointCollector) desc(name string) *prometheus.Desc {
	return prometheus.NewDesc(name, endpointDescs[name], []string{"endpoint"}, c.cl)
}

func (c *endpointCollector) Describe(ch chan<- *prometheus.Desc) {
	for name := range endpointDescs {
		ch <- c.desc(name)
	}
}

func (c *endpointCollector) Collect(ch chan<- prometheus.Metric) {
	eps := c.p.Load().eps.Load()
	if eps == nil {
		return
	}
	now := time.Now()
	descs := map[string]*prometheus.Desc{}
	for name := range endpointDescs {
		descs[name] = c.desc(name)
	}
	gauge := func(name string, v float64, ep string) {
		ch <- prometheus.MustNewConstMetric(descs[name], prometheus.GaugeValue, v, ep)
	}
	for _, e := range *eps {
		age := -1.0
		if s := e.last.Load(); s != nil {
			age = now.Sub(s.at).Seconds()
			gauge("gwctl_pool_endpoint_waiting", s.m.Waiting, e.addr)
			gauge("gwctl_pool_endpoint_running", s.m.Running, e.addr)
			gauge("gwctl_pool_endpoint_kv_cache_usage", s.m.KVUsage, e.addr)
		}
		gauge("gwctl_pool_endpoint_metrics_age_seconds", age, e.addr)
		gauge("gwctl_pool_endpoint_in_flight", float64(e.inFlight.Load()), e.addr)
		cand := 0.0
		if e.candidate(now, &c.p.Load().cfg.Scheduler) {
			cand = 1
		}
		gauge("gwctl_pool_endpoint_candidate", cand, e.addr)
	}
}
