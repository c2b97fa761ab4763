package config

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/infergw/gwctl/pkg/finding"
)

// Apply installs a freshly compiled config (builds handlers, swaps the route table). An error
// rejects the config; the previous one keeps serving.
type Apply func(*Result) error

// Watcher polls the source's files and recompiles when their content changes. Polling (not
// inotify) is deliberate: mounted ConfigMaps change by swapping symlinks, which content hashes
// see reliably.
type Watcher struct {
	Source   *Source
	Apply    Apply
	Interval time.Duration // default 2s
	Logger   *slog.Logger
	// OnReload is called after every reload attempt with its outcome (for metrics).
	OnReload func(ok bool)

	last [32]byte
}

// Initial performs the first load and apply; its error is what the dataplane exits with.
func (w *Watcher) Initial() (*Result, error) {
	res, err := w.Source.Load()
	if err != nil {
		return res, err
	}
	if err := w.Apply(res); err != nil {
		return res, err
	}
	w.last = res.Fingerprint
	w.logWarnings(res.Findings)
	return res, nil
}

// Run polls until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	if !w.Source.Watchable() {
		return
	}
	iv := w.Interval
	if iv <= 0 {
		iv = 2 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Check()
		}
	}
}

// Check reloads once if the input changed since the last successful or failed attempt.
// It reports whether a reload was attempted.
func (w *Watcher) Check() bool {
	log := w.logger()
	fp, err := w.Source.Fingerprint()
	if err != nil {
		if fp != w.last {
			log.Error("config reload failed: cannot read input", slog.String("error", err.Error()))
		}
		return false
	}
	if fp == w.last {
		return false
	}
	w.last = fp
	res, err := w.Source.Load()
	if err == nil {
		err = w.Apply(res)
	}
	var inv *InvalidError
	switch {
	case errors.As(err, &inv):
		for _, f := range inv.Findings {
			if f.Severity == finding.Error {
				log.Error("config finding", slog.String("finding", f.String()))
			}
		}
		log.Error("config reload rejected: keeping the previous config", slog.String("error", err.Error()))
	case err != nil:
		log.Error("config reload rejected: keeping the previous config", slog.String("error", err.Error()))
	default:
		w.logWarnings(res.Findings)
		log.Info("config reloaded", slog.Int("routes", len(res.Config.Routes)), slog.Int("backends", len(res.Config.Backends)))
	}
	if w.OnReload != nil {
		w.OnReload(err == nil)
	}
	return true
}

func (w *Watcher) logWarnings(fs []finding.Finding) {
	for _, f := range fs {
		if f.Severity != finding.Error {
			w.logger().Warn("config finding", slog.String("finding", f.String()))
		}
	}
}

func (w *Watcher) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
