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
	"sync/atomic"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
	"github.com/infergw/gwctl/dataplane/proxy"
)

// scrapeRounds scrapes every endpoint once per ScrapeInterval until the pool closes (and at
// once when endpoints are added), in rounds on one goroutine (sendRound, receiveRound).
func (p *Pool) scrapeRounds() {
	select { // Start's first resolve asked for a round: this is it
	case <-p.added:
	default:
	}
	p.scrapeLoop(time.NewTicker(p.cfg.Scheduler.ScrapeInterval), nil, nil)
}

// scrapeLoop finishes the round r if one is given (its replies from r[next] on), then runs a
// round at each tick of t. It owns one count of p.wg.
func (p *Pool) scrapeLoop(t *time.Ticker, r []*endpoint, next *atomic.Int32) {
	defer p.wg.Done()
	for {
		if r == nil {
			r, next = p.sendRound(), new(atomic.Int32)
		}
		if !p.receiveRound(t, r, next) {
			return // handed on
		}
		r = nil
		select {
		case <-p.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-p.added:
		}
	}
}

// sendRound starts a round: it sends the metrics request on every endpoint's kept connection
// and returns those endpoints, whose replies receiveRound then reads in order. A round's
// requests are under way together and its replies are read on one goroutine, so its scrape
// work takes one core, for about as long as the slowest reply: a goroutine per endpoint filled
// every core at each tick while a pick (the dataplane's own, or an EPP's) waited for one, and
// scrapes in sequence cost more CPU and spread over the interval. An endpoint without a kept
// connection (its first scrape, after a failure) is scraped on a goroutine of its own
// (scrapeAlone).
func (p *Pool) sendRound() []*endpoint {
	eps := *p.eps.Load()
	r := make([]*endpoint, 0, len(eps))
	deadline := time.Now().Add(p.cfg.Scheduler.ScrapeTimeout)
	for _, e := range eps {
		if p.ctx.Err() != nil {
			break
		}
		if !e.scraping.TryLock() {
			continue // its scrape of an earlier round is still under way
		}
		if e.gone {
			e.scraping.Unlock()
			continue
		}
		if e.conn == nil || e.conn.send(deadline) != nil {
			p.scrapeAlone(e)
			continue
		}
		r = append(r, e)
	}
	return r
}

// scrapeAlone scrapes e on a goroutine of its own: on a new kept connection when scrapes are
// batched, else through the pool's HTTP client. It takes over e.scraping, held by the caller.
func (p *Pool) scrapeAlone(e *endpoint) {
	p.closeConn(e)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer e.scraping.Unlock()
		req, err := p.scrapeRequest(e.addr)
		if err != nil || !p.batch || p.proxied(req) {
			p.scrapeOnce(e.ctx, e)
			return
		}
		c, err := p.dialScrape(e, req)
		if err != nil {
			p.scraped(e.ctx, e, metricsparse.Metrics{}, fmt.Errorf("scrape %s: %w", e.addr, err))
			return
		}
		e.conn = c
		if err := c.send(time.Now().Add(p.cfg.Scheduler.ScrapeTimeout)); err != nil {
			p.closeConn(e)
			p.scraped(e.ctx, e, metricsparse.Metrics{}, fmt.Errorf("scrape %s: %w", e.addr, err))
			return
		}
		p.received(e, false)
	}()
}

// received reads the reply on e's connection and records it. A kept connection (one that
// carried earlier scrapes) the server closed before it answered is no failure: e is scraped
// again at once on a new one (scrapeAlone), which then holds e.scraping; received reports
// whether the caller still does.
func (p *Pool) received(e *endpoint, kept bool) bool {
	m, stale, reuse, err := e.conn.receive()
	if !reuse {
		p.closeConn(e)
	}
	if stale && kept {
		p.scrapeAlone(e)
		return false
	}
	if err != nil {
		err = fmt.Errorf("scrape %s: %w", e.addr, err)
	}
	p.scraped(e.ctx, e, m, err)
	return true
}

// receiveRound reads the replies of r from r[next] on, in order. A reply that outlasts its turn
// (scrapeTurn) keeps this goroutine, and the round and the rounds after it go on in another,
// so a slow or stalled endpoint does not hold back the others' samples; it then reports false.
func (p *Pool) receiveRound(t *time.Ticker, r []*endpoint, next *atomic.Int32) bool {
	turn := p.scrapeTurn(len(r))
	var handOn *time.Timer
	for {
		i := int(next.Add(1)) - 1
		if i >= len(r) {
			return true
		}
		e := r[i]
		p.wg.Add(1)
		if handOn == nil {
			handOn = time.AfterFunc(turn, func() { p.scrapeLoop(t, r, next) })
		} else {
			handOn.Reset(turn)
		}
		if p.received(e, true) {
			e.scraping.Unlock()
		}
		if !handOn.Stop() {
			return false
		}
		p.wg.Done()
	}
}

// scrapeTurn is how long a round waits on one endpoint's scrape before it goes on without it:
// a round of n endpoints then ends within about half the interval, plus one scrape.
func (p *Pool) scrapeTurn(n int) time.Duration {
	return min(p.cfg.Scheduler.ScrapeInterval/time.Duration(2*max(1, n)), p.cfg.Scheduler.ScrapeTimeout)
}

// scrapeOnce scrapes e through the pool's HTTP client and reports whether it succeeded.
func (p *Pool) scrapeOnce(ctx context.Context, e *endpoint) bool {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Scheduler.ScrapeTimeout)
	defer cancel()
	start := time.Now()
	m, err := p.scrape(ctx, e.addr)
	if d := time.Since(start); d > 250*time.Millisecond {
		p.log.Debug("slow scrape", "pool", p.cfg.Name, "endpoint", e.addr, "duration", d)
	}
	return p.scraped(ctx, e, m, err)
}

// scraped records a scrape's outcome: the sample, or a failure. ctx is the scrape's.
func (p *Pool) scraped(ctx context.Context, e *endpoint, m metricsparse.Metrics, err error) bool {
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) && p.ctx.Err() != nil {
		return false // shutting down
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
		return false
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
	return true
}

func (p *Pool) lruCapacity(m *metricsparse.Metrics) int {
	if m.NumGPUBlocks > 0 && !p.cfg.Scheduler.NoAutoTune {
		return m.NumGPUBlocks
	}
	return p.cfg.Scheduler.LRUCapacity
}

func (p *Pool) scrape(ctx context.Context, addr string) (metricsparse.Metrics, error) {
	req, err := p.scrapeRequest(addr)
	if err != nil {
		return metricsparse.Metrics{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	resp, err := p.scrapeClient.Do(req.WithContext(ctx))
	if err != nil {
		return metricsparse.Metrics{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return metricsparse.Metrics{}, fmt.Errorf("scrape %s: status %d", addr, resp.StatusCode)
	}
	m, err := readExposition(resp.Body)
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
