package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"k8s.io/klog/v2"

	"github.com/infergw/gwctl/dataplane/epp"
	"github.com/infergw/gwctl/dataplane/pool"
)

// eppTLS is the client TLS config of --epp-tls and --epp-ca-file; nil for plaintext.
func eppTLS(mode, caFile string) (*tls.Config, error) {
	switch mode {
	case "", "off":
		if caFile != "" {
			return nil, errors.New("--epp-ca-file needs --epp-tls on")
		}
		return nil, nil
	case "skip-verify":
		return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}, nil //nolint:gosec // asked for by name, for self-signed EPP certificates
	case "on":
		c := &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, fmt.Errorf("--epp-ca-file: %w", err)
			}
			c.RootCAs = x509.NewCertPool()
			if !c.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--epp-ca-file %s: no PEM certificate", caFile)
			}
		}
		return c, nil
	}
	return nil, fmt.Errorf("--epp-tls %q: want off, on or skip-verify", mode)
}

// runEPP is `dataplane epp`: the in-process picker of one InferencePool served over ext_proc.
func runEPP(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	var (
		cfgs, resolve, poolEps                   listFlag
		poolName, listen, admin, domain, profile string
		weights, logFormat, logLevel, cert, key  string
		kubeconfig                               string
		assume, inCluster                        bool
		scrape, watch                            time.Duration
		maxBody                                  int64
	)
	fs := flag.NewFlagSet("dataplane epp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&cfgs, "config", "gateway resources with the InferencePool: a file, a directory or - for stdin; repeatable")
	fs.StringVar(&poolName, "pool", "", "namespace/name of the InferencePool to pick for (default: the only one in the input; required with --kubernetes)")
	fs.BoolVar(&inCluster, "kubernetes", false, "Kubernetes mode: read the InferencePool --pool from the API server (in-cluster config or --kubeconfig) and pick among its ready Pods, instead of --config")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file for --kubernetes outside a pod")
	fs.DurationVar(&watch, "watch-interval", 2*time.Second, "how often the --config files are checked for changes")
	fs.StringVar(&listen, "listen", ":9002", "ext_proc address (gRPC, with the health services liveness, readiness and envoy.service.ext_proc.v3.ExternalProcessor)")
	fs.StringVar(&admin, "admin", ":9090", "address of /metrics; empty disables it")
	fs.Var(&resolve, "resolve", "Service address override for local runs: name.namespace[:port]=host:port; repeatable")
	fs.StringVar(&domain, "cluster-domain", "cluster.local", "cluster DNS suffix")
	fs.BoolVar(&assume, "assume-services", false, "accept references to Services that are not in the config")
	fs.Var(&poolEps, "pool-endpoints", "the pool's model servers for local runs: name.namespace=host:port[;host:port...] (default: DNS of the headless Service name.namespace); repeatable")
	fs.StringVar(&profile, "pool-scheduler", "default", "picking profile: default or reference")
	fs.StringVar(&weights, "pool-weights", "", "scorer weights over the profile's, e.g. queue=2,kv=2,prefix=3,lora=1")
	fs.DurationVar(&scrape, "pool-scrape-interval", 50*time.Millisecond, "how often each model server's /metrics is scraped")
	fs.Int64Var(&maxBody, "max-request-body", 32<<20, "largest request body in bytes the picker buffers; larger requests are answered 413")
	fs.StringVar(&cert, "tls-cert", "", "PEM certificate to serve ext_proc over TLS (with --tls-key)")
	fs.StringVar(&key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dataplane epp --config PATH [flags]\n       dataplane epp --kubernetes --pool NAMESPACE/NAME [flags]\n\n"+
			"Serves the dataplane's endpoint picker for one InferencePool over Envoy ext_proc (the Gateway API\n"+
			"Inference Extension's Endpoint Picker protocol), for gateways that call an EPP.\n"+
			"Flags can be set as DATAPLANE_<NAME> too.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := applyEnv(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "dataplane epp:", err)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "dataplane epp: unexpected arguments %v\n", fs.Args())
		fs.Usage()
		return 2
	case inCluster && (len(cfgs) > 0 || poolName == ""):
		fmt.Fprintln(stderr, "dataplane epp: --kubernetes takes --pool namespace/name and no --config")
		return 2
	case !inCluster && len(cfgs) == 0:
		fmt.Fprintln(stderr, "dataplane epp: --config is required (a file, a directory or -), or --kubernetes")
		fs.Usage()
		return 2
	}
	usage := func(err error) int {
		fmt.Fprintln(stderr, "dataplane epp:", err)
		return 2
	}
	o := epp.ServeOptions{Config: cfgs, Stdin: stdin, Pool: poolName, Listen: listen, Admin: admin,
		ClusterDomain: domain, AssumeServices: assume, MaxBodyBytes: maxBody, WatchInterval: watch}
	var err error
	if o.Resolve, err = parseResolve(resolve); err != nil {
		return usage(err)
	}
	if o.Logger, err = newLogger(logFormat, logLevel, stdout); err != nil {
		return usage(err)
	}
	if inCluster {
		if o.Kubernetes, err = restConfig(kubeconfig); err != nil {
			return usage(err)
		}
		klog.SetSlogLogger(o.Logger.With(slog.String("component", "client-go")))
	}
	if o.Scheduler, err = pool.Profile(profile); err != nil {
		return usage(fmt.Errorf("--pool-scheduler: %w", err))
	}
	if weights != "" {
		if o.Scheduler.Weights, err = pool.ParseWeights(weights); err != nil {
			return usage(fmt.Errorf("--pool-weights: %w", err))
		}
	}
	o.Scheduler.ScrapeInterval = scrape
	if o.PoolEndpoints, err = parsePoolEndpoints(poolEps); err != nil {
		return usage(err)
	}
	if (cert == "") != (key == "") {
		return usage(errors.New("--tls-cert and --tls-key go together"))
	}
	if cert != "" {
		kp, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return usage(fmt.Errorf("--tls-cert: %w", err))
		}
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{kp}}
	}
	if err := epp.Serve(ctx, o); err != nil {
		fmt.Fprintln(stderr, "dataplane epp:", err)
		return 1
	}
	return 0
}
