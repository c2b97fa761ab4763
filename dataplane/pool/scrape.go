package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
	"github.com/infergw/gwctl/dataplane/proxy"
)

// scrapeLoop polls one endpoint's metrics until ctx ends: once at once (a new endpoint becomes a
// candidate without waiting), then on the endpoint's own phase of the pool's schedule.
func (p *Pool) scrapeLoop(ctx context.Context, e *endpoint) {
	defer close(e.done)
	interval := p.cfg.Scheduler.ScrapeInterval
	t := time.NewTimer(time.Until(nextScrape(p.scrapeEpoch, time.Now(), e.scrapeOffset, interval)))
	defer t.Stop()
	for {
		p.scrapeOnce(ctx, e)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(time.Until(nextScrape(p.scrapeEpoch, time.Now(), e.scrapeOffset, interval)))
	}
}

// invPhi is 1/φ: the slots' offsets k/φ mod 1 spread any number of endpoints over the interval
// (for n ≤ 256 slots no gap is under 0.44/n of it nor over 1.9/n; TestScrapeSchedule) and a new
// slot falls into one of the widest gaps, without knowing the pool's size in advance.
const invPhi = 0.6180339887498949

// scrapeOffset is where in each interval an endpoint's scrapes fall. Scrapes that fire together
// make every pick at that moment wait for the parsing of all of them (the tail of the EPP's
// pick latency bunched there); phase, the pool's own, keeps two pools started together apart.
func scrapeOffset(phase float64, slot int, interval time.Duration) time.Duration {
	f := math.Mod(phase+float64(slot)*invPhi, 1)
	return time.Duration(f * float64(interval))
}

// nextScrape is the first time after now on the schedule epoch+offset+k·interval. A scrape
// slower than the interval skips the ticks it missed, as a time.Ticker does.
func nextScrape(epoch, now time.Time, offset, interval time.Duration) time.Time {
	at := epoch.Add(offset)
	if now.Before(at) {
		return at
	}
	k := now.Sub(at)/interval + 1
	return at.Add(k * interval)
}

func (p *Pool) scrapeOnce(ctx context.Context, e *endpoint) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Scheduler.ScrapeTimeout)
	defer cancel()
	start := time.Now()
	m, err := p.scrape(ctx, e.addr)
	if d := time.Since(start); d > 250*time.Millisecond {
		p.log.Debug("slow scrape", "pool", p.cfg.Name, "endpoint", e.addr, "duration", d)
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) && p.ctx.Err() != nil {
		return // shutting down
	}
	if err != nil {
		n := e.fails.Add(1)
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			e.unreachable.Store(true)
		}
		p.metrics.scrapeErrors.WithLabelValues(e.addr).Inc()
		if reason := proxy.TLSReason(err); reason != "" && n == 1 {
			// A certificate that fails verification does not heal by waiting: say why at once,
			// not only when the endpoint leaves the candidates.
			p.log.Warn("endpoint scrape failed: upstream TLS handshake failed", "pool", p.cfg.Name, "endpoint", e.addr, "reason", reason, "error", err)
		} else {
			p.log.Debug("scrape failed", "pool", p.cfg.Name, "endpoint", e.addr, "error", err)
		}
		if int(n) == p.cfg.Scheduler.UnhealthyAfter {
			p.log.Warn("endpoint left the candidates", "pool", p.cfg.Name, "endpoint", e.addr, "error", err)
		}
		return
	}
	wasOut := !e.candidate(time.Now(), &p.cfg.Scheduler)
	e.record(m, time.Now())
	p.index.setCapacity(e.slot, p.lruCapacity(&m))
	if m.BlockSize > 0 && !p.cfg.Scheduler.NoAutoTune {
		p.blockTokens.CompareAndSwap(0, int64(m.BlockSize))
	}
	if wasOut {
		p.log.Info("endpoint is a candidate", "pool", p.cfg.Name, "endpoint", e.addr)
	}
}

func (p *Pool) lruCapacity(m *metricsparse.Metrics) int {
	if m.NumGPUBlocks > 0 && !p.cfg.Scheduler.NoAutoTune {
		return m.NumGPUBlocks
	}
	return p.cfg.Scheduler.LRUCapacity
}

func (p *Pool) scrape(ctx context.Context, addr string) (metricsparse.Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.scheme()+"://"+addr+p.cfg.MetricsPath, nil)
	if err != nil {
		return metricsparse.Metrics{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := p.scrapeClient.Do(req)
	if err != nil {
		return metricsparse.Metrics{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return metricsparse.Metrics{}, fmt.Errorf("scrape %s: status %d", addr, resp.StatusCode)
	}
	m, err := metricsparse.Parse(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return metricsparse.Metrics{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	return m, nil
}
