// Package bootstrap assembles a dataplane: the config source and its watcher, the backend
// registry (Service and static backends proxied; other kinds registered by the caller), the
// route table swapped on every reload, secrets, metrics and the server. cmd/dataplane and the
// end-to-end tests use it.
package bootstrap

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/infergw/gwctl/dataplane/backend"
	"github.com/infergw/gwctl/dataplane/certs"
	"github.com/infergw/gwctl/dataplane/config"
	"github.com/infergw/gwctl/dataplane/h1"
	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/dataplane/router"
	"github.com/infergw/gwctl/dataplane/secrets"
	"github.com/infergw/gwctl/dataplane/server"
	"github.com/infergw/gwctl/pkg/gateway"
)

// Settings are the dataplane's bootstrap settings (flags and DATAPLANE_* environment).
type Settings struct {
	// Config are files or directories of gateway resources; "-" reads Stdin.
	Config []string
	Stdin  io.Reader
	// Listen are the traffic addresses: "ADDR" serves the routes of every Gateway listener;
	// "PORT=ADDR" serves only those of listeners on Gateway port PORT (e.g. "80=:8080").
	Listen []string
	// Admin is the admin address (/healthz, /readyz, /metrics), reached by probes and
	// Prometheus; empty disables it.
	Admin string
	// Debug is the debug address (/configz: routes, upstream addresses, JWKS, policies;
	// /debug/pprof/: profiles of the running process); empty disables it. Keep it on
	// loopback: it has no authentication.
	Debug string
	// SecretsDir holds mounted Secrets as <dir>/<name>/<key>.
	SecretsDir string
	// Resolve overrides Service addresses: "name.namespace" or "name.namespace:port" -> host:port.
	Resolve map[string]string
	// ClusterDomain is the cluster DNS suffix (default cluster.local).
	ClusterDomain string
	// AssumeServices accepts Services that are not in the input (see gateway.Options).
	AssumeServices bool
	// ControllerName limits the dataplane to Gateways of GatewayClasses with this
	// controllerName (see gateway.Options); empty serves every Gateway.
	ControllerName string
	// OTLPEndpoint and RedisAddr are passed to the telemetry and rate-limit wiring.
	OTLPEndpoint, RedisAddr string
	// MaxRequestBody in bytes; 0 is unlimited.
	MaxRequestBody int64
	// MaxHeaderBytes bounds a request's line and headers (0: server.DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// RequestBodyTimeout bounds reading a request body; 0 is unbounded.
	RequestBodyTimeout time.Duration
	// WatchInterval is how often config files and secrets are checked (default 2s).
	WatchInterval time.Duration
	// ShutdownTimeout and ShutdownDelay: see server.Options.
	ShutdownTimeout, ShutdownDelay time.Duration
	// DisableAccessLog turns off the per-request log line.
	DisableAccessLog bool
	// AccessLog receives the per-request lines (nil: the dataplane's logger); cmd/dataplane
	// gives it a handler on AccessLogBuffer (see server.Options).
	AccessLog       *slog.Logger
	AccessLogBuffer *server.LineWriter
}

// CompileOptions are the gateway.Options every source compiles with.
func (s Settings) CompileOptions() gateway.Options {
	return gateway.Options{Resolve: s.Resolve, ClusterDomain: s.ClusterDomain, AssumeServices: s.AssumeServices,
		ControllerName: s.ControllerName}
}

// Dataplane is an assembled gateway. Register backend factories on Backends and set Policy
// before Load.
type Dataplane struct {
	Settings Settings
	Logger   *slog.Logger
	// Prometheus holds every dataplane metric; other packages register theirs here.
	Prometheus *prometheus.Registry
	Metrics    *server.Metrics
	Backends   *backend.Registry
	// Policy builds traffic-policy middleware (JWT, rate limit, transformation). Nil: routes
	// with a policy answer 501 rather than run unprotected.
	Policy router.PolicyBuilder
	// Wrap, when set, returns middleware around every request for a config (e.g. the server
	// span of frontend.tracing); nil middleware leaves requests as they are.
	Wrap func(*gateway.Config) func(http.Handler) http.Handler
	// WrapTransport, when set, wraps the transport of proxied backends (e.g. client spans).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	Secrets       *secrets.Store
	// Certs holds the certificates of HTTPS listeners and of mTLS to upstreams.
	Certs   *certs.Store
	Server  *server.Server
	Watcher *config.Watcher
	// Transport is the plain upstreams' transport; proxied requests go through dataplane/h1 in
	// front of it (its dialer is read on every dial, so a test may replace it after New).
	Transport *http.Transport

	plainOnce sync.Once
	plain     http.RoundTripper // Transport behind dataplane/h1

	current atomic.Pointer[config.Result]
}

// Config returns the compiled config in use (nil before Load).
func (d *Dataplane) Config() *gateway.Config {
	if r := d.current.Load(); r != nil {
		return r.Config
	}
	return nil
}

// configz serves the config in use as JSON (credentials left out) with its warnings.
func (d *Dataplane) configz(w http.ResponseWriter, r *http.Request) {
	res := d.current.Load()
	if res == nil {
		http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
		return
	}
	var warnings []string
	for _, f := range res.Findings {
		warnings = append(warnings, f.String())
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		Fingerprint string          `json:"fingerprint"`
		Findings    []string        `json:"findings,omitempty"`
		Config      *gateway.Config `json:"config"`
	}{hex.EncodeToString(res.Fingerprint[:8]), warnings, res.Config})
}

// New assembles a dataplane; nothing listens until Run.
func New(s Settings, log *slog.Logger) *Dataplane {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d := &Dataplane{
		Settings:   s,
		Logger:     log,
		Prometheus: reg,
		Metrics:    server.NewMetrics(reg),
		Backends:   backend.NewRegistry(),
		Secrets:    secrets.New(s.SecretsDir, log),
		Certs:      certs.New(certs.Options{Dir: s.SecretsDir, Logger: log, Registerer: reg}),
		Transport:  proxy.NewTransport(),
	}
	d.Server = server.New(server.Options{
		Logger:             log,
		AccessLog:          s.AccessLog,
		AccessLogBuffer:    s.AccessLogBuffer,
		Metrics:            d.Metrics,
		Gatherer:           reg,
		MaxRequestBody:     s.MaxRequestBody,
		MaxHeaderBytes:     s.MaxHeaderBytes,
		RequestBodyTimeout: s.RequestBodyTimeout,
		ShutdownTimeout:    s.ShutdownTimeout,
		ShutdownDelay:      s.ShutdownDelay,
		DisableAccessLog:   s.DisableAccessLog,
		DebugHandlers:      debugHandlers(http.HandlerFunc(d.configz)),
	})
	d.Backends.Register(gateway.KindService, func(b *gateway.Backend) (http.Handler, error) {
		return d.upstream(b, b.Service.Address)
	})
	d.Backends.Register(gateway.KindStatic, func(b *gateway.Backend) (http.Handler, error) {
		return d.upstream(b, b.Static.Address)
	})
	d.Watcher = &config.Watcher{
		Source: &config.Source{
			Paths: s.Config, Stdin: s.Stdin,
			Options: s.CompileOptions(),
		},
		Apply:    d.apply,
		Interval: s.WatchInterval,
		Logger:   log,
		OnReload: func(ok bool) { d.Metrics.Reload(ok, float64(time.Now().Unix())) },
	}
	return d
}

// withAuth applies a backend's policies.auth (secretRef or key) to proxied requests;
// passthrough and no auth leave the request as it is.
func (d *Dataplane) withAuth(b *gateway.Backend, h http.Handler) http.Handler {
	a := b.Auth
	if a == nil || a.Passthrough || (a.SecretRef == "" && a.InlineKey == "") {
		return h
	}
	c := proxy.Credential{Header: a.HeaderName, Prefix: a.HeaderPrefix}
	if a.SecretRef != "" {
		c.Value = d.Secrets.Key(a.SecretRef, "Authorization")
	} else {
		key := a.InlineKey
		c.Value = func() (string, error) { return key, nil }
	}
	return c.Wrap(h, d.Logger.With(slog.String("backend", b.ID)))
}

// Proxy returns a reverse proxy to addr that counts upstream errors under the backend id.
func (d *Dataplane) Proxy(id, addr string) http.Handler {
	d.plainOnce.Do(func() { d.plain = h1.Wrap(d.Transport) })
	rt := d.plain
	if d.WrapTransport != nil {
		rt = d.WrapTransport(rt)
	}
	return proxy.New(addr, proxy.Options{
		Transport: rt,
		Logger:    d.Logger.With(slog.String("backend", id)),
		OnError:   d.Metrics.UpstreamError(id),
	})
}

// Apply installs a compiled config from another source (Kubernetes mode) as a reload does: on
// error the previous config keeps serving. It records the reload metric.
func (d *Dataplane) Apply(res *config.Result) error {
	err := d.apply(res)
	d.Metrics.Reload(err == nil, float64(time.Now().Unix()))
	return err
}

// WithAuth is withAuth for backend factories registered by other sources.
func (d *Dataplane) WithAuth(b *gateway.Backend, h http.Handler) http.Handler {
	return d.withAuth(b, h)
}

func (d *Dataplane) apply(res *config.Result) error {
	refs := certs.Refs(res.Config)
	d.Certs.Sync(refs) // before Build: upstream TLS reads client certificates from it
	set, err := d.Backends.Build(res.Config)
	if err != nil {
		return err
	}
	tlsTable, err := server.NewTLSTable(res.Config.Listeners, d.Certs.ServerConfig)
	if err != nil {
		set.Close()
		return err
	}
	table, err := router.New(res.Config, router.Options{Backends: set.Handlers, Policy: d.Policy})
	if err != nil {
		set.Close()
		return err
	}
	if len(table.Ports) > 1 && d.servesAll() {
		d.Logger.Warn("Gateway listeners on several ports are served together on one address; bind each with --listen PORT=ADDR to keep their routes apart",
			slog.Any("ports", table.Ports))
	}
	var h http.Handler = table
	if d.Wrap != nil {
		if mw := d.Wrap(res.Config); mw != nil {
			h = wrapped{ports: table, mw: mw, all: mw(table)}
		}
	}
	d.current.Store(res)
	d.Server.SetTLS(tlsTable)
	d.Certs.Retain(refs)
	d.Server.Swap(h, func() {
		if err := set.Close(); err != nil {
			d.Logger.Warn("closing replaced backends", slog.String("error", err.Error()))
		}
	})
	return nil
}

// Load compiles and installs the initial config. A *config.InvalidError carries the findings
// to print (as gwctl validate does); a *manifest.Error is unreadable input.
func (d *Dataplane) Load() (*config.Result, error) {
	res, err := d.Watcher.Initial()
	d.Metrics.Reload(err == nil, float64(time.Now().Unix()))
	if err != nil {
		return res, err
	}
	d.Logger.Info("config loaded", slog.Int("listeners", len(res.Config.Listeners)),
		slog.Int("routes", len(res.Config.Routes)), slog.Int("backends", len(res.Config.Backends)))
	return res, nil
}

// Run serves every listener's routes on ln; see RunListeners.
func (d *Dataplane) Run(ctx context.Context, ln, admin net.Listener) error {
	return d.RunListeners(ctx, server.Listeners{Bindings: []server.Binding{{Listener: ln}}, Admin: admin})
}

// RunBindings serves on the given bindings (admin may be nil); see RunListeners.
func (d *Dataplane) RunBindings(ctx context.Context, bindings []server.Binding, admin net.Listener) error {
	return d.RunListeners(ctx, server.Listeners{Bindings: bindings, Admin: admin})
}

// RunListeners serves on l (admin and debug may be nil) and watches the config and secrets
// until ctx is done, then drains. Call Load first.
func (d *Dataplane) RunListeners(ctx context.Context, l server.Listeners) error {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{}, 3)
	go func() { d.Watcher.Run(wctx); done <- struct{}{} }()
	iv := d.Settings.WatchInterval
	if iv <= 0 {
		iv = 2 * time.Second
	}
	go func() { d.Secrets.Watch(wctx, iv); done <- struct{}{} }()
	go func() { d.Certs.Watch(wctx, iv); done <- struct{}{} }()
	for _, b := range l.Bindings {
		port := "all"
		if b.Port != 0 {
			port = strconv.Itoa(int(b.Port))
		}
		d.Logger.Info("serving", slog.String("listen", b.Listener.Addr().String()), slog.String("gateway_port", port))
	}
	if l.Admin != nil {
		d.Logger.Info("admin", slog.String("listen", addrOf(l.Admin)), slog.String("serves", "/healthz /readyz /metrics"))
	}
	if l.Debug != nil {
		d.Logger.Info("debug", slog.String("listen", addrOf(l.Debug)), slog.String("serves", "/configz /debug/pprof/"))
		if !loopback(l.Debug.Addr()) {
			d.Logger.Warn("the debug address is not loopback: /configz shows routes, upstream addresses and policies, and /debug/pprof/ profiles the process, for anyone who reaches it",
				slog.String("listen", addrOf(l.Debug)))
		}
	}
	err := d.Server.ServeListeners(ctx, l)
	stop()
	<-done
	<-done
	<-done
	return err
}

func (d *Dataplane) servesAll() bool {
	for _, l := range d.Settings.Listen {
		if _, _, ok := splitBinding(l); !ok {
			return true
		}
	}
	return false
}

// splitBinding reads "PORT=ADDR"; ok is false for a plain address.
func splitBinding(s string) (port int32, addr string, ok bool) {
	p, a, found := strings.Cut(s, "=")
	if !found {
		return 0, s, false
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return 0, s, false
	}
	return int32(n), a, true
}

// ParseListen checks Settings.Listen entries.
func ParseListen(entries []string) error {
	for _, e := range entries {
		if strings.Contains(e, "=") {
			if _, _, ok := splitBinding(e); !ok {
				return fmt.Errorf("--listen %q: want ADDR or PORT=ADDR with PORT 1-65535", e)
			}
		}
	}
	return nil
}

// ListenAndRun listens on Settings.Listen, Settings.Admin and Settings.Debug and runs.
func (d *Dataplane) ListenAndRun(ctx context.Context) error {
	var opened []net.Listener
	listen := func(what, addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return nil, fmt.Errorf("%s on %s: %w", what, addr, err)
		}
		opened = append(opened, ln)
		return ln, nil
	}
	var l server.Listeners
	for _, e := range d.Settings.Listen {
		port, addr, _ := splitBinding(e)
		ln, err := listen("listen", addr)
		if err != nil {
			return err
		}
		l.Bindings = append(l.Bindings, server.Binding{Listener: ln, Port: port})
	}
	if len(l.Bindings) == 0 {
		return errors.New("no --listen address")
	}
	var err error
	if d.Settings.Admin != "" {
		if l.Admin, err = listen("admin listen", d.Settings.Admin); err != nil {
			return err
		}
	}
	if d.Settings.Debug != "" {
		if l.Debug, err = listen("debug listen", d.Settings.Debug); err != nil {
			return err
		}
	}
	err = d.RunListeners(ctx, l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// loopback reports whether a is a loopback address (127.0.0.0/8, ::1).
func loopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// wrapped is a route table with middleware around it, for every listener port.
type wrapped struct {
	ports server.PortHandler
	mw    func(http.Handler) http.Handler
	all   http.Handler
}

func (w wrapped) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.all.ServeHTTP(rw, r) }

func (w wrapped) ServePort(rw http.ResponseWriter, r *http.Request, port int32) {
	w.mw(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { w.ports.ServePort(rw, r, port) })).ServeHTTP(rw, r)
}
