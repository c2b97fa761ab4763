package jwt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultUnknownKIDInterval is the shortest time between two JWKS fetches caused by unknown kids.
const DefaultUnknownKIDInterval = 10 * time.Second

// Deps are the Authenticator's collaborators; every field is optional.
type Deps struct {
	Logger         *slog.Logger
	HTTPClient     *http.Client // for remote JWKS; default: 5 s timeout
	Registerer     prometheus.Registerer
	TracerProvider trace.TracerProvider
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// UnknownKIDInterval limits JWKS fetches triggered by unknown kids; default DefaultUnknownKIDInterval.
	UnknownKIDInterval time.Duration
}

// Authenticator verifies tokens for one jwtAuthentication policy.
type Authenticator struct {
	cfg      Config
	log      *slog.Logger
	tracer   trace.Tracer
	now      func() time.Time
	metrics  *metrics
	cache    *tokenCache
	single   *verifier // set when there is one provider: no need to read iss first
	byIssuer map[string]*verifier
	remotes  []*remoteKeys
	// origin is the configured origin of the URLs the policy hands out ("": the request's).
	origin string
	// authServer serves the issuer's authorization-server metadata on MCP routes (nil: none).
	authServer *authServer

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks cfg, parses inline key sets and prepares remote ones (fetched on Start or on first use).
func New(cfg Config, deps Deps) (*Authenticator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if deps.TracerProvider == nil {
		deps.TracerProvider = noop.NewTracerProvider()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.UnknownKIDInterval <= 0 {
		deps.UnknownKIDInterval = DefaultUnknownKIDInterval
	}
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, err
	}
	a := &Authenticator{
		cfg:      cfg,
		log:      deps.Logger,
		tracer:   deps.TracerProvider.Tracer("github.com/infergw/gwctl/dataplane/policy/jwt"),
		now:      deps.Now,
		metrics:  m,
		cache:    newTokenCache(cfg.CacheSize),
		byIssuer: make(map[string]*verifier, len(cfg.Providers)),
	}
	for i, p := range cfg.Providers {
		var src keySource
		if p.JWKS.Inline != "" {
			ks, _, err := ParseJWKS([]byte(p.JWKS.Inline))
			if err != nil {
				return nil, fmt.Errorf("jwt: providers[%d] (%s): inline %w", i, p.Issuer, err)
			}
			src = staticKeys(ks)
		} else {
			interval := p.JWKS.CacheDuration
			if interval <= 0 {
				interval = DefaultCacheDuration
			}
			r := &remoteKeys{
				url: p.JWKS.URL, client: deps.HTTPClient, interval: interval,
				unknownEvery: deps.UnknownKIDInterval, log: deps.Logger, metrics: m, now: deps.Now,
			}
			a.remotes = append(a.remotes, r)
			src = r
		}
		a.byIssuer[p.Issuer] = newVerifier(p, src, cfg.ClockSkew, deps.Now)
	}
	if len(cfg.Providers) == 1 {
		a.single = a.byIssuer[cfg.Providers[0].Issuer]
	}
	a.origin = cfg.PublicOrigin
	if cfg.MCP != nil {
		if res, ok := cfg.MCP.ResourceMetadata["resource"]; ok {
			// The document serves the value as written (user keys win, as in agentgateway);
			// only a well-formed absolute URL also fixes the origin of the challenges.
			if o, err := resourceOrigin(res); err != nil {
				deps.Logger.Warn("mcp.resourceMetadata.resource is not an http(s) URL; not used for resource_metadata", "error", err.Error())
			} else {
				a.origin = o
			}
		}
		if a.origin == "" {
			deps.Logger.Warn("MCP protected-resource URLs follow the request's Host: set mcp.resourceMetadata.resource or the dataplane's --public-origin to pin them")
		}
		a.authServer = newAuthServer(cfg.Providers[0].Issuer, deps.HTTPClient, deps.Logger, deps.Now)
	}
	return a, nil
}

// Start fetches remote key sets now and then every cacheDuration until ctx ends or Close is called.
// It does not block; without Start, a remote set is fetched on first use.
func (a *Authenticator) Start(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil || len(a.remotes) == 0 {
		return
	}
	ctx, a.cancel = context.WithCancel(ctx)
	for _, r := range a.remotes {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			r.run(ctx)
		}()
	}
}

// Close stops the background refreshes and waits for them.
func (a *Authenticator) Close() {
	a.mu.Lock()
	cancel := a.cancel
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	a.wg.Wait()
}

// Mode is the policy's mode after defaulting.
func (a *Authenticator) Mode() Mode { return a.cfg.Mode }

// Authenticate verifies a raw token: allowed asymmetric algorithm, signature by a key of the
// provider named by iss, exp (required), nbf and iat with the clock skew, and the audience.
// Verified tokens are cached (by hash) until exp.
func (a *Authenticator) Authenticate(ctx context.Context, raw string) (Claims, error) {
	now := a.now()
	var key [32]byte
	if a.cache != nil {
		key = tokenKey(raw)
		if c, ok := a.cache.get(key, now); ok {
			a.metrics.result("cached")
			return c, nil
		}
	}
	v := a.single
	if v == nil {
		iss, err := unverifiedIssuer(raw)
		if err != nil {
			return nil, fmt.Errorf("jwt: %w", err)
		}
		if v = a.byIssuer[iss]; v == nil {
			return nil, errors.New("jwt: token issuer is not a configured provider")
		}
	}
	claims, exp, err := v.verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("jwt: provider %s: %w", v.issuer, err)
	}
	if a.cache != nil {
		a.cache.put(key, claims, exp)
	}
	a.metrics.result("valid")
	return claims, nil
}
