package jwt

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts authentication outcomes and JWKS fetches. A nil *metrics records nothing.
// Every Authenticator (one per policy, and again on each reload) shares the same collectors.
type metrics struct {
	results *prometheus.CounterVec
	fetches *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	results, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "jwt_authentication_total",
		Help: "JWT authentication outcomes (valid, cached, missing, invalid).",
	}, []string{"result"}))
	if err != nil {
		return nil, err
	}
	fetches, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "jwt_jwks_fetches_total",
		Help: "Remote JWKS fetches by outcome (ok, error).",
	}, []string{"result"}))
	if err != nil {
		return nil, err
	}
	return &metrics{results: results, fetches: fetches}, nil
}

func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("jwt: registering metrics: %w", err)
}

func (m *metrics) result(r string) {
	if m != nil {
		m.results.WithLabelValues(r).Inc()
	}
}

func (m *metrics) fetch(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.fetches.WithLabelValues("ok").Inc()
	} else {
		m.fetches.WithLabelValues("error").Inc()
	}
}
