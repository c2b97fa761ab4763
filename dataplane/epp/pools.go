package epp

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infergw/gwctl/dataplane/pool"
)

// pools builds the served pool from its resources and, when they change (a file reload, an
// InferencePool update), builds the next one and swaps it into the server; the replaced pool
// is closed. The scheduler and the server's metrics carry over.
type pools struct {
	ctx     context.Context
	log     *slog.Logger
	reg     prometheus.Registerer
	sched   pool.SchedulerConfig
	maxBody int64

	mu    sync.Mutex
	srv   *Server
	key   string
	ready chan struct{} // closed when the first pool serves
}

func newPools(ctx context.Context, log *slog.Logger, reg prometheus.Registerer, sched pool.SchedulerConfig, maxBody int64) *pools {
	return &pools{ctx: ctx, log: log, reg: reg, sched: sched, maxBody: maxBody, ready: make(chan struct{})}
}

// poolKey is what a pool is built from: an unchanged key keeps the pool (its endpoints'
// metrics and prefix caches) across a reload.
func poolKey(cfg pool.Config) string {
	return fmt.Sprintf("%s|%v|%v|%v|%#v", cfg.Name, cfg.Selector, cfg.TargetPorts, cfg.FailureMode, cfg.Source)
}

// apply serves a pool built from cfg unless it is the one served.
func (ps *pools) apply(cfg pool.Config) error {
	cfg.Scheduler = ps.sched
	key := poolKey(cfg)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.srv != nil && key == ps.key {
		return nil
	}
	p, err := pool.New(cfg, ps.log.With("pool", cfg.Name), ps.reg)
	if err != nil {
		return err
	}
	if err := p.Start(ps.ctx); err != nil {
		_ = p.Close()
		return err
	}
	if ps.srv == nil {
		srv, err := NewServer(p, ps.maxBody, ps.log, ps.reg)
		if err != nil {
			_ = p.Close()
			return err
		}
		ps.srv, ps.key = srv, key
		close(ps.ready)
		return nil
	}
	// The old pool serves until the new one can pick (its first scrapes), for at most 2s.
	waitPickable(ps.ctx, p, 2*time.Second)
	old := ps.srv.SetPool(p)
	ps.key = key
	ps.log.Info("endpoint picker pool changed", "pool", cfg.Name, "target_ports", cfg.TargetPorts, "endpoints", len(p.Endpoints()))
	go func() { _ = old.Close() }() // waits for its scrape loops
	return nil
}

// server is the server once the first pool serves.
func (ps *pools) server() *Server {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.srv
}

func (ps *pools) close() {
	if s := ps.server(); s != nil {
		_ = s.Pool().Close()
	}
}

// waitPickable polls until p picks an endpoint, d passes or ctx ends.
func waitPickable(ctx context.Context, p *pool.Pool, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if k, err := p.Pick(ctx, pool.PickRequest{}); err == nil {
			k.Release()
			return
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}
