package failover

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Outlier is passive health checking: consecutive failures eject a backend for a backoff
// that doubles while it keeps failing.
type Outlier struct {
	// Consecutive failures (5xx, connect errors, resets, timeouts) that eject a backend; default 5.
	Consecutive int
	// BaseEjection is the first ejection's length (default 30s); each further ejection without a
	// success in between doubles it, up to MaxEjection (default 5m).
	BaseEjection time.Duration
	MaxEjection  time.Duration
}

func (o Outlier) withDefaults() Outlier {
	if o.Consecutive <= 0 {
		o.Consecutive = 5
	}
	if o.BaseEjection <= 0 {
		o.BaseEjection = 30 * time.Second
	}
	if o.MaxEjection <= 0 {
		o.MaxEjection = 5 * time.Minute
	}
	if o.MaxEjection < o.BaseEjection {
		o.MaxEjection = o.BaseEjection
	}
	return o
}

// health is one backend's state.
type health struct {
	mu         sync.Mutex
	failures   int       // consecutive
	ejections  int       // ejections since the last success
	until      time.Time // ejected until; zero when healthy
	probing    bool      // a half-open request is in flight
	activeDown bool      // the active check says down
}

type state int

const (
	healthy state = iota
	ejected
	halfOpen // ejection over: one request may probe
)

func (h *health) state(now time.Time) state {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stateLocked(now)
}

func (h *health) stateLocked(now time.Time) state {
	switch {
	case h.activeDown:
		return ejected
	case h.until.IsZero():
		return healthy
	case now.Before(h.until) || h.probing:
		return ejected
	}
	return halfOpen
}

// acquire admits a request: always when healthy, once when half-open. probe reports whether
// this request is the half-open probe.
func (h *health) acquire(now time.Time) (ok, probe bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.stateLocked(now) {
	case healthy:
		return true, false
	case halfOpen:
		h.probing = true
		return true, true
	}
	return false, false
}

// success records a good response: the backend is healthy again.
func (h *health) success() {
	h.mu.Lock()
	h.failures, h.ejections, h.until, h.probing = 0, 0, time.Time{}, false
	h.mu.Unlock()
}

// failure records a failed attempt and reports whether it ejected the backend.
func (h *health) failure(now time.Time, o Outlier, probe bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures++
	if probe {
		h.probing = false
	}
	if !probe && (h.failures < o.Consecutive || !h.until.IsZero() && now.Before(h.until)) {
		return false
	}
	d := o.BaseEjection << min(h.ejections, 20)
	if d > o.MaxEjection || d <= 0 {
		d = o.MaxEjection
	}
	h.ejections++
	h.until = now.Add(d)
	return true
}

// release ends a probe that neither succeeded nor failed (the client went away).
func (h *health) release(probe bool) {
	if !probe {
		return
	}
	h.mu.Lock()
	h.probing = false
	h.mu.Unlock()
}

// setActive records an active check's result: down ejects, up clears any ejection.
func (h *health) setActive(up bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if up {
		if h.activeDown || !h.until.IsZero() {
			h.failures, h.ejections, h.until = 0, 0, time.Time{}
		}
		h.activeDown = false
		return
	}
	h.activeDown = true
}

// ActiveHealth runs each backend's Probe every Interval (with Timeout); zero Interval disables it.
type ActiveHealth struct {
	Interval time.Duration
	Timeout  time.Duration
	// Unhealthy and Healthy are the consecutive probe results that flip a backend; default 1 each.
	Unhealthy, Healthy int
}

// probeLoop checks one backend until ctx ends.
func probeLoop(ctx context.Context, wg *sync.WaitGroup, cfg ActiveHealth, probe func(context.Context) error, h *health, onChange func(up bool)) {
	defer wg.Done()
	unhealthy, healthyN := max(cfg.Unhealthy, 1), max(cfg.Healthy, 1)
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = cfg.Interval
	}
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	var ups, downs int
	up := true
	for {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			ups, downs = ups+1, 0
		} else {
			ups, downs = 0, downs+1
		}
		switch {
		case !up && ups >= healthyN:
			up = true
			h.setActive(true)
			onChange(true)
		case up && downs >= unhealthy:
			up = false
			h.setActive(false)
			onChange(false)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProbeURL is an active health check that GETs url with client and wants a 2xx.
func ProbeURL(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("health probe %s: %w", url, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("health probe: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("health probe %s: status %d", url, resp.StatusCode)
		}
		return nil
	}
}
