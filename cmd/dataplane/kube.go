package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/kube"
	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/server"
	"github.com/infergw/gwctl/dataplane/wiring"
)

// saNamespace is where a pod finds its own namespace.
const saNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// restConfig is the API server's: from kubeconfig when named, else the pod's service account.
func restConfig(kubeconfig string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("--kubernetes: %w (run in a pod or pass --kubeconfig)", err)
	}
	return cfg, nil
}

// kubeController builds the Kubernetes-mode controller: informers instead of --config, Service
// backends over EndpointSlices, InferencePools over their ready Pods.
func kubeController(o *options, d *bootstrap.Dataplane, sopts *wiring.Options, log *slog.Logger, getenv func(string) string) (*kube.Controller, error) {
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	// client-go logs (leader election, watch errors) through the dataplane's JSON logger.
	klog.SetSlogLogger(log.With(slog.String("component", "client-go")))
	ns := o.namespace
	if ns == "" {
		ns = getenv("POD_NAMESPACE")
	}
	if ns == "" {
		if b, err := os.ReadFile(saNamespace); err == nil {
			ns = strings.TrimSpace(string(b))
		}
	}
	if ns == "" {
		return nil, fmt.Errorf("--kubernetes: --namespace is required outside a pod")
	}
	var ports kube.PortRange
	if o.gatewayPorts != "" {
		if ports, err = kube.ParsePortRange(o.gatewayPorts); err != nil {
			return nil, err
		}
	}
	ctl, err := kube.New(kube.Options{
		Config: cfg, Namespace: ns, Service: o.serviceName, Identity: getenv("POD_NAME"),
		GatewayPorts: ports, Serve: func(ctx context.Context, ln net.Listener, port int32) error {
			return d.Server.ServeBinding(ctx, server.Binding{Listener: ln, Port: port})
		},
		Compile: d.Settings.CompileOptions(), Apply: d.Apply, Secrets: d.Secrets, Logger: log,
		OnReject: func() { d.Metrics.Reload(false, float64(time.Now().Unix())) },
	})
	if err != nil {
		return nil, err
	}
	sopts.PoolSource = func(namespace string, selector map[string]string) pool.Source {
		return kube.PoolSource{E: ctl.Endpoints, Namespace: namespace, Selector: selector}
	}
	sopts.PoolResolveInterval = 200 * time.Millisecond
	return ctl, nil
}

// serveFromEndpoints makes Service backends pick among the Service's ready endpoints.
func serveFromEndpoints(d *bootstrap.Dataplane, ctl *kube.Controller) {
	d.ServeServices(ctl.Endpoints.ServiceHandler)
}

// runKubernetes syncs the informers, applies the first set, then serves while the controller
// follows the cluster.
func runKubernetes(ctx context.Context, d *bootstrap.Dataplane, ctl *kube.Controller, stderr io.Writer) int {
	if err := ctl.Start(ctx); err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 1
	}
	done := make(chan struct{})
	rctx, stop := context.WithCancel(ctx)
	go func() { ctl.Run(rctx); close(done) }()
	err := d.ListenAndRun(ctx)
	stop()
	<-done
	if err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 1
	}
	return 0
}
