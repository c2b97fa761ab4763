package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
	"github.com/infergw/gwctl/dataplane/proxy"
)

// scrapeLoop polls one endpoint's metrics until ctx ends.
func (p *Pool) scrapeLoop(ctx context.Context, e *endpoint) {
	defer close(e.done)
	sc := &p.cfg.Scheduler
	t := time.NewTicker(sc.ScrapeInterval)
	defer t.Stop()
	for {
		p.scrapeOnce(ctx, e)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
	// The exposition is read whole first (the network's pace), then parsed under parseSlots
	// (the CPU's): a pool's scrapes tick together, and eight parses at once would fill every
	// core while a request's pick, or an EPP's, waits behind them.
	buf := expositions.Get().(*bytes.Buffer)
	defer putExposition(buf)
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxExposition)); err != nil {
		return metricsparse.Metrics{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	parseSlots <- struct{}{}
	m, err := metricsparse.Parse(bytes.NewReader(buf.Bytes()))
	<-parseSlots
	if err != nil {
		return metricsparse.Metrics{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	return m, nil
}

// maxExposition is the most of a metrics reply that is read.
const maxExposition = 16 << 20

// parseSlots bounds the scrapes parsing at once, process-wide, to half the cores (at least
// one): the rest stay free for requests when every endpoint's scrape ticks at once.
var parseSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

// expositions are the scrape replies' buffers; one larger than 1 MiB is not kept.
var expositions = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putExposition(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return
	}
	b.Reset()
	expositions.Put(b)
}
