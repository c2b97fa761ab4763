package epp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"k8s.io/client-go/rest"

	"github.com/infergw/gwctl/dataplane/config"
	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/pkg/gateway"
)

// ServeOptions configure Serve: which pool of the gateway resources to pick for, and where.
type ServeOptions struct {
	// Config are the gateway resources (files, directories, "-" for Stdin), as the dataplane reads them.
	Config []string
	Stdin  io.Reader
	// Pool is namespace/name of the InferencePool; empty when the input has exactly one.
	Pool string
	// Listen is the ext_proc address (default :9002); the gRPC health services (liveness,
	// readiness, envoy.service.ext_proc.v3.ExternalProcessor) are served on it too.
	Listen string
	// Admin serves /metrics; empty disables it.
	Admin string
	// Resolve, ClusterDomain and AssumeServices are the compiler's options (gateway.Options).
	Resolve        map[string]string
	ClusterDomain  string
	AssumeServices bool
	// PoolEndpoints lists model servers by "name.namespace" for local runs (else the DNS of
	// the pool's headless Service).
	PoolEndpoints map[string][]string
	Scheduler     pool.SchedulerConfig
	MaxBodyBytes  int64
	// TLS, when set, serves ext_proc over TLS.
	TLS    *tls.Config
	Logger *slog.Logger
	// Ready, when set, receives the ext_proc address once it listens (tests, benchmarks).
	Ready func(addr string)
	// WatchInterval is how often the resource files are checked for changes (default 2s).
	WatchInterval time.Duration
	// PoolSource, when set, yields the endpoints of a pool not in PoolEndpoints (instead of
	// the DNS of its headless Service).
	PoolSource func(namespace string, selector map[string]string) pool.Source
	// Kubernetes, when set, reads the InferencePool named by Pool from this API server and
	// picks among its ready Pods; Config is then unused.
	Kubernetes *rest.Config
}

// Serve runs the dataplane's picker as an Endpoint Picker until ctx ends. In file mode the
// resources are watched as the dataplane watches them: a change to the pool (its target ports,
// its endpoints' source) builds the next pool and swaps it in. In Kubernetes mode the pool is
// the InferencePool in the API server and its endpoints are its ready Pods.
func Serve(ctx context.Context, o ServeOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Listen == "" {
		o.Listen = ":9002"
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	reg := prometheus.NewRegistry()
	ps := newPools(ctx, log, reg, o.Scheduler, o.MaxBodyBytes)
	defer ps.close()
	var err error
	if o.Kubernetes != nil {
		err = watchKubernetes(ctx, o, ps, log)
	} else {
		err = watchFiles(ctx, o, ps, log)
	}
	if err != nil {
		return err
	}
	srv := ps.server()
	name := srv.Pool().Name()

	hs := health.NewServer()
	hs.SetServingStatus("liveness", healthpb.HealthCheckResponse_SERVING)
	// A message holds a body of up to MaxBodyBytes and the rest of the request (grpc-go's
	// default, 4 MiB, refused a bigger buffered body before the 413 could be answered).
	maxMsg := int(srv.maxBody) + 1<<20
	var g eppServing
	if fastServer {
		g = newH2Server(srv, hs, o.TLS, maxMsg, log)
	} else {
		gopts := append(ServerOptions(), grpc.MaxRecvMsgSize(maxMsg))
		if o.TLS != nil {
			gopts = append(gopts, grpc.Creds(credentials.NewTLS(o.TLS)))
		}
		gs := grpc.NewServer(gopts...)
		extprocv3.RegisterExternalProcessorServer(gs, srv)
		healthpb.RegisterHealthServer(gs, hs)
		g = gs
	}
	lis, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("epp: listen %s: %w", o.Listen, err)
	}
	go readiness(ctx, srv, hs)

	var admin *http.Server
	adminAddr := ""
	if o.Admin != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		admin = &http.Server{Addr: o.Admin, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		al, err := net.Listen("tcp", o.Admin)
		if err != nil {
			_ = lis.Close()
			return fmt.Errorf("epp: listen %s: %w", o.Admin, err)
		}
		adminAddr = al.Addr().String()
		go func() { _ = admin.Serve(al) }()
	}
	log.Info("endpoint picker serving", "pool", name, "ext_proc", lis.Addr().String(), "admin", adminAddr)
	if o.Ready != nil {
		o.Ready(lis.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(lis) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		hs.Shutdown()
		stopped := make(chan struct{})
		go func() { g.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			g.Stop()
		}
	}
	if admin != nil {
		_ = admin.Close()
	}
	return err
}

// eppServing is the ext_proc server Serve runs: grpc-go's, or h2Server (the fast path).
type eppServing interface {
	Serve(net.Listener) error
	GracefulStop()
	Stop()
}

// readiness reports readiness and the ext_proc service as serving while the pool has endpoints.
func readiness(ctx context.Context, srv *Server, hs *health.Server) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if len(srv.Pool().Endpoints()) > 0 {
			st = healthpb.HealthCheckResponse_SERVING
		}
		hs.SetServingStatus("readiness", st)
		hs.SetServingStatus(extprocv3.ExternalProcessor_ServiceDesc.ServiceName, st)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchFiles loads the resources, serves their pool, and reloads on change (config.Watcher, as
// the dataplane's file mode). The first load may have error findings elsewhere as long as the
// pool compiles; a reload with error findings keeps the pool served, as the dataplane keeps
// its config.
func watchFiles(ctx context.Context, o ServeOptions, ps *pools, log *slog.Logger) error {
	apply := func(res *config.Result) error {
		b, err := findPool(res.Config, o.Pool)
		if err != nil {
			return err
		}
		cfg := pool.FromBackend(b, o.PoolEndpoints, o.ClusterDomain)
		if _, static := o.PoolEndpoints[b.Name+"."+b.Namespace]; !static && o.PoolSource != nil {
			cfg.Source = o.PoolSource(b.Namespace, b.Pool.Selector)
		}
		return ps.apply(cfg)
	}
	w := &config.Watcher{
		Source: &config.Source{Paths: o.Config, Stdin: o.Stdin, Options: gateway.Options{
			Resolve: o.Resolve, ClusterDomain: o.ClusterDomain, AssumeServices: o.AssumeServices}},
		Apply:    apply,
		Interval: o.WatchInterval,
		Logger:   log,
	}
	res, err := w.Initial()
	var inv *config.InvalidError
	switch {
	case errors.As(err, &inv) && res != nil && res.Config != nil:
		if err := apply(res); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	go w.Run(ctx)
	return nil
}

// findPool picks the InferencePool backend named namespace/name, or the only one.
func findPool(cfg *gateway.Config, name string) (*gateway.Backend, error) {
	var pools []*gateway.Backend
	var names []string
	if cfg != nil {
		for _, b := range cfg.Backends {
			if b.Kind == gateway.KindInferencePool && b.Pool != nil {
				pools = append(pools, b)
				names = append(names, b.Namespace+"/"+b.Name)
			}
		}
	}
	sort.Strings(names)
	for _, b := range pools {
		if b.Namespace+"/"+b.Name == name {
			return b, nil
		}
	}
	switch {
	case name == "" && len(pools) == 1:
		return pools[0], nil
	case name == "" && len(pools) == 0, name != "":
		return nil, fmt.Errorf("epp: no InferencePool %q referenced by an HTTPRoute in the input (found %v)", name, names)
	}
	return nil, fmt.Errorf("epp: the input has %d InferencePools %v: name one with --pool namespace/name", len(pools), names)
}
