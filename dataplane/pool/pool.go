package pool

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infergw/gwctl/dataplane/h1"
)

// Pool serves one InferencePool. It is an http.Handler: each request is scheduled to an
// endpoint and reverse-proxied there, falling back along the ordered list on connect failure.
type Pool struct {
	cfg     Config
	log     *slog.Logger
	metrics *poolMetrics
	index   *prefixIndex
	proxy   *httputil.ReverseProxy

	scrapeClient *http.Client
	blockTokens  atomic.Int64 // autotuned prefix block size (tokens); 0 until a scrape reports it
	eps          atomic.Pointer[[]*endpoint]
	added        chan struct{}                         // endpoints were added: scrape them now
	batch        bool                                  // scrapes are batched on kept connections (sendRound)
	scrapeProxy  func(*http.Request) (*url.URL, error) // the default transport's: a proxied endpoint is not batched

	// Pick-time state, guarded by mu: scratch buffers and the tie-break RNG.
	mu        sync.Mutex
	rng       *rand.Rand
	rr        uint64
	views     []view
	reach     []*endpoint
	order     []int
	scores    []float64
	tmp       []float64
	counts    []int
	prefix    []float64 // prefix scores of the last decision's views (buffer)
	prefixBuf []float64 // prefix, or nil when the last decision computed none

	hashPool sync.Pool

	ctx     context.Context
	cancel  context.CancelFunc
	started atomic.Bool
	wg      sync.WaitGroup
	epMu    sync.Mutex // serialises endpoint set updates
}

// New builds a Pool from cfg. logger and reg may be nil. Call Start to discover endpoints and
// scrape them; until then every request gets 503.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Pool, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	transport := cfg.Transport
	var proxy func(*http.Request) (*url.URL, error)
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256
		// Bodies pass through as the model server sent them (no Accept-Encoding added, nothing
		// decompressed), as the plain proxy's transport does; dataplane/h1 then serves plain
		// endpoints' requests and scrapes on the calling goroutine (GWCTL_NOFAST=h1client: t).
		t.DisableCompression = true
		if cfg.TLS != nil {
			t.TLSClientConfig = cfg.TLS
		}
		transport, proxy = h1.Wrap(t), t.Proxy
	}
	p := &Pool{
		cfg:          cfg,
		log:          logger,
		index:        newPrefixIndex(),
		scrapeClient: &http.Client{Transport: transport},
		added:        make(chan struct{}, 1),
		batch:        batchScrapes && cfg.Transport == nil && cfg.TLS == nil,
		scrapeProxy:  proxy,
		rng:          rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
	}
	p.hashPool.New = func() any { s := make([]uint64, 0, cfg.Scheduler.MaxPrefixBlocks); return &s }
	empty := []*endpoint{}
	p.eps.Store(&empty)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	m, err := newPoolMetrics(p, reg)
	if err != nil {
		return nil, fmt.Errorf("pool %q: register metrics: %w", cfg.Name, err)
	}
	p.metrics = m
	p.proxy = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		ModifyResponse: p.modifyResponse,
		Transport:      &fallbackTransport{p: p, base: transport},
		FlushInterval:  -1,
		ErrorHandler:   p.proxyError,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// Name is the pool's name as configured.
func (p *Pool) Name() string { return p.cfg.Name }

// Start resolves the endpoints once, starts the scrape rounds and a resolve loop, and returns.
// The goroutines stop when ctx ends or Close is called.
func (p *Pool) Start(ctx context.Context) error {
	if !p.started.CompareAndSwap(false, true) {
		return fmt.Errorf("pool %q: already started", p.cfg.Name)
	}
	stop := context.AfterFunc(ctx, p.cancel)
	if err := p.resolve(); err != nil {
		p.log.Warn("resolve endpoints", "pool", p.cfg.Name, "error", err)
	}
	p.wg.Add(2)
	go p.scrapeRounds()
	go func() {
		defer p.wg.Done()
		defer stop()
		t := time.NewTicker(p.cfg.ResolveInterval)
		defer t.Stop()
		for {
			select {
			case <-p.ctx.Done():
				return
			case <-t.C:
				if err := p.resolve(); err != nil {
					p.log.Warn("resolve endpoints", "pool", p.cfg.Name, "error", err)
				}
			}
		}
	}()
	return nil
}

// Close stops the scrape and resolve loops and waits for them.
func (p *Pool) Close() error {
	p.cancel()
	p.wg.Wait()
	p.epMu.Lock()
	defer p.epMu.Unlock()
	for _, e := range *p.eps.Load() {
		e.scraping.Lock()
		p.closeConn(e)
		e.scraping.Unlock()
	}
	return nil
}

// resolve asks the Source and adds or removes endpoints; existing endpoints keep their state.
func (p *Pool) resolve() error {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	addrs, err := p.cfg.Source.Endpoints(ctx, p.cfg.TargetPorts)
	if err != nil {
		return err
	}
	p.setEndpoints(addrs)
	return nil
}

func (p *Pool) setEndpoints(addrs []string) {
	p.epMu.Lock()
	defer p.epMu.Unlock()
	if p.ctx.Err() != nil {
		return
	}
	old := *p.eps.Load()
	byAddr := make(map[string]*endpoint, len(old))
	for _, e := range old {
		byAddr[e.addr] = e
	}
	next := make([]*endpoint, 0, len(addrs))
	added := false
	for _, a := range addrs {
		if e, ok := byAddr[a]; ok {
			next = append(next, e)
			delete(byAddr, a)
			continue
		}
		if slices.ContainsFunc(next, func(e *endpoint) bool { return e.addr == a }) {
			continue
		}
		ctx, cancel := context.WithCancel(p.ctx)
		e := &endpoint{addr: a, slot: p.index.addSlot(p.cfg.Scheduler.LRUCapacity), ctx: ctx, stop: cancel}
		next = append(next, e)
		added = true
		p.log.Info("endpoint added", "pool", p.cfg.Name, "endpoint", a)
	}
	p.eps.Store(&next)
	if added {
		select {
		case p.added <- struct{}{}:
		default:
		}
	}
	for _, e := range byAddr {
		e.stop()
		e.scraping.Lock() // its scrape under way, if any, ends cancelled
		e.gone = true
		p.closeConn(e)
		e.scraping.Unlock()
		p.index.removeSlot(e.slot)
		p.log.Info("endpoint removed", "pool", p.cfg.Name, "endpoint", e.addr)
	}
}

// Endpoints lists the current endpoint addresses.
func (p *Pool) Endpoints() []string {
	eps := *p.eps.Load()
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = e.addr
	}
	return out
}
