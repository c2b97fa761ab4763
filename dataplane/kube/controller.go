package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/infergw/gwctl/dataplane/config"
	"github.com/infergw/gwctl/dataplane/secrets"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
)

// Options configure Kubernetes mode.
type Options struct {
	Config *rest.Config
	// Namespace is the dataplane's own namespace: its Lease, its Service, the provider Secrets
	// it reads and the Gateways' Services.
	Namespace string
	// Service names the dataplane's Service in Namespace (default "dataplane"): the Gateways'
	// address, or with GatewayPorts the type and pod selector of each Gateway's own Service.
	Service string
	// GatewayPorts, when set, gives each Gateway its own address: its listeners are served on
	// ports of this range (allocated from the Gateways and their Services, so every replica agrees), and the
	// leader keeps a Service per Gateway mapping each listener port to its port on the
	// dataplane pods; the Gateway reports that Service's address. Unset, every Gateway is
	// served on the ports of the dataplane's bindings and reports the dataplane Service's.
	GatewayPorts PortRange
	// Listen opens a port of GatewayPorts (default: every interface); Serve serves it until ctx
	// is done (bootstrap: Server.ServeBinding). Serve is required with GatewayPorts.
	Listen func(port int32) (net.Listener, error)
	Serve  func(ctx context.Context, ln net.Listener, port int32) error
	// Identity names this replica in the Lease (default: the host name).
	Identity string
	// Compile are the compile options; ControllerName must be set.
	Compile gateway.Options
	// Apply installs a compiled config (bootstrap.Dataplane.Apply); an error keeps the old one.
	Apply func(*config.Result) error
	// OnReject is called when a set does not compile (Apply records its own failures), for
	// the reload-failure metric.
	OnReject func()
	// Secrets receives the Secrets of Namespace (may be nil).
	Secrets *secrets.Store
	Logger  *slog.Logger
	// Debounce gathers bursts of changes into one compile (default 50ms).
	Debounce time.Duration
	// Resync is the informers' resync period (0: none).
	Resync time.Duration
	// LeaseDuration, RenewDeadline, RetryPeriod tune the leader election (defaults 15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Controller watches the API server, compiles and applies what it sees, and writes status
// while it leads.
type Controller struct {
	opts   Options
	log    *slog.Logger
	dyn    dynamic.Interface
	cs     kubernetes.Interface
	dynInf dynamicinformer.DynamicSharedInformerFactory
	inf    informers.SharedInformerFactory
	secInf informers.SharedInformerFactory

	listers map[string]cache.GenericLister // by kind
	watched []resource
	// Endpoints are the ready addresses of Services (EndpointSlices) and pools (Pods).
	Endpoints *Endpoints

	kick chan struct{}

	mu sync.Mutex // guards last and status writes
	// last is the latest compile (good or not) with why it was not applied.
	last *compiled1
	// leading is true while this replica holds the Lease.
	leading atomic.Bool
	// statusWrites counts status updates sent, for tests and the metric.
	statusWrites atomic.Int64
	// compiles counts compile passes.
	compiles atomic.Int64
	writer   *statusWriter

	// ctx is Start's: the Gateways' ports and the named Secret and ConfigMap informers stop
	// with it.
	ctx context.Context
	// certs are the certificate Secrets, cas the CA ConfigMaps our resources name.
	certs, cas *namedObjects
	// bindMu guards bound (the open Gateway ports) and alloc (the applied port assignment).
	bindMu sync.Mutex
	bound  map[int32]context.CancelFunc
	alloc  map[gwPort]int32
}

// compiled1 is one compile pass.
type compiled1 struct {
	res     *config.Result
	objs    []*manifest.Object
	applied bool
	// err is why the set was not applied (findings or apply error); nil when applied.
	err error
	// dropped are routes left out because they did not compile, with their findings' text.
	dropped map[gateway.NamespacedName]string
	// set is the resources by kind/namespace/name, for status.
	byKey map[string]*unstructured.Unstructured
}

// New connects to the API server; nothing runs until Start.
func New(opts Options) (*Controller, error) {
	if opts.Config == nil || opts.Apply == nil || opts.Compile.ControllerName == "" || opts.Namespace == "" {
		return nil, errors.New("kube: Config, Apply, Namespace and Compile.ControllerName are required")
	}
	if opts.Service == "" {
		opts.Service = "dataplane"
	}
	if opts.Identity == "" {
		opts.Identity, _ = os.Hostname()
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Compile.RequireClass = true
	opts.Compile.LeaveOutConflicts = true
	if opts.GatewayPorts.enabled() {
		if opts.Serve == nil {
			return nil, errors.New("kube: GatewayPorts needs Serve")
		}
		opts.Compile.SeparateGateways = true
		if opts.Listen == nil {
			opts.Listen = listenAll
		}
	}
	cfg := rest.CopyConfig(opts.Config)
	cfg.UserAgent = "gwctl-dataplane"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	c := &Controller{
		opts: opts, log: opts.Logger, dyn: dyn, cs: cs,
		dynInf:  dynamicinformer.NewDynamicSharedInformerFactory(dyn, opts.Resync),
		inf:     informers.NewSharedInformerFactory(cs, opts.Resync),
		secInf:  informers.NewSharedInformerFactoryWithOptions(cs, opts.Resync, informers.WithNamespace(opts.Namespace)),
		listers: map[string]cache.GenericLister{},
		kick:    make(chan struct{}, 1),
		ctx:     context.Background(),
		bound:   map[int32]context.CancelFunc{},
	}
	c.certs, c.cas = newCertSecrets(c), newCAConfigMaps(c)
	c.writer = &statusWriter{c: c}
	c.Endpoints = newEndpoints(c.inf, opts.Logger)
	return c, nil
}

// served reports which of the compiled kinds the API server serves; a missing required kind
// (the Gateway API CRDs) is an error.
func (c *Controller) served() ([]resource, error) {
	var out []resource
	for _, r := range compiled {
		list, err := c.cs.Discovery().ServerResourcesForGroupVersion(r.gvr.GroupVersion().String())
		found := false
		if err == nil {
			for _, ar := range list.APIResources {
				found = found || ar.Name == r.gvr.Resource
			}
		}
		switch {
		case found:
			out = append(out, r)
		case r.optional:
			c.log.Warn("kind not served by the API server: not watched (restart the dataplane after installing its CRD)",
				slog.String("resource", r.gvr.String()))
		default:
			return nil, fmt.Errorf("kube: the API server does not serve %s (install the Gateway API CRDs)", r.gvr)
		}
	}
	return out, nil
}

// Start starts the informers (they run until ctx is done), waits for their caches (at most
// two minutes), and compiles and applies the first set. Its error (no CRDs, no sync, or a first
// set that does not compile) stops startup.
func (c *Controller) Start(ctx context.Context) error {
	ws, err := c.served()
	if err != nil {
		return err
	}
	c.watched = ws
	c.ctx = ctx
	c.certs.done, c.cas.done = ctx.Done(), ctx.Done()
	for _, r := range ws {
		inf := c.dynInf.ForResource(r.gvr)
		_ = inf.Informer().SetTransform(stripManagedFields)
		if _, err := inf.Informer().AddEventHandler(c.handler()); err != nil {
			return err
		}
		c.listers[r.kind] = inf.Lister()
	}
	sec := c.secInf.Core().V1().Secrets().Informer()
	if _, err := sec.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { c.syncSecrets() }, UpdateFunc: func(any, any) { c.syncSecrets() }, DeleteFunc: func(any) { c.syncSecrets() },
	}); err != nil {
		return err
	}
	c.dynInf.Start(ctx.Done())
	c.inf.Start(ctx.Done())
	c.secInf.Start(ctx.Done())
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for gvr, ok := range c.dynInf.WaitForCacheSync(wctx.Done()) {
		if !ok {
			return fmt.Errorf("kube: %s did not sync", gvr)
		}
	}
	for typ, ok := range c.inf.WaitForCacheSync(wctx.Done()) {
		if !ok {
			return fmt.Errorf("kube: %v did not sync", typ)
		}
	}
	c.secInf.WaitForCacheSync(wctx.Done())
	c.syncSecrets()
	c.drain()
	if cp := c.sync(); !cp.applied {
		return fmt.Errorf("kube: the resources in the cluster do not compile: %w", cp.err)
	}
	return nil
}

// Run recompiles on every change and takes part in the leader election until ctx is done.
func (c *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.elect(ctx) }()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-c.kick:
		}
		// Gather the rest of a burst (kubectl apply of many objects) into one compile.
		t := time.NewTimer(c.opts.Debounce)
		select {
		case <-ctx.Done():
			t.Stop()
			wg.Wait()
			return
		case <-t.C:
		}
		c.drain()
		c.sync()
	}
}

func (c *Controller) drain() {
	select {
	case <-c.kick:
	default:
	}
}

// Kick asks for a compile (and, on the leader, a status pass).
func (c *Controller) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// handler kicks a compile on every add and delete, and on updates that change what compiles:
// the spec (generation), labels (selectors read them) or, for kinds without a generation, any
// change. The controller's own status writes change none of these.
func (c *Controller) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.Kick() },
		DeleteFunc: func(any) { c.Kick() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*unstructured.Unstructured)
			n, ok2 := newObj.(*unstructured.Unstructured)
			if ok1 && ok2 && n.GetGeneration() != 0 && o.GetGeneration() == n.GetGeneration() &&
				labels.Equals(o.GetLabels(), n.GetLabels()) && o.GetDeletionTimestamp().Equal(n.GetDeletionTimestamp()) {
				return
			}
			if ok1 && ok2 && o.GetResourceVersion() == n.GetResourceVersion() {
				return // a resync
			}
			c.Kick()
		},
	}
}

func stripManagedFields(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u.SetManagedFields(nil)
	}
	return obj, nil
}

// objects lists every watched object as a manifest.Object for pkg/gateway, sorted so that a
// compile does not depend on map order.
func (c *Controller) objects() ([]*manifest.Object, map[string]*unstructured.Unstructured, error) {
	var out []*manifest.Object
	byKey := map[string]*unstructured.Unstructured{}
	for _, r := range c.watched {
		items, err := c.listers[r.kind].List(labels.Everything())
		if err != nil {
			return nil, nil, err
		}
		for _, it := range items {
			u, ok := it.(*unstructured.Unstructured)
			if !ok || u.GetDeletionTimestamp() != nil {
				continue
			}
			out = append(out, &manifest.Object{
				APIVersion: u.GetAPIVersion(), Kind: r.kind, Namespace: u.GetNamespace(), Name: u.GetName(),
				Content: u.Object, File: r.kind + "/" + u.GetNamespace() + "/" + u.GetName(),
			})
			byKey[objKey(r.kind, u.GetNamespace(), u.GetName())] = u
		}
	}
	// The certificate Secrets and CA ConfigMaps our resources name, read as the compiler reads
	// them in an input.
	for _, w := range []*namedObjects{c.certs, c.cas} {
		refs := w.refs()
		w.watch(refs)
		out = append(out, w.objects(refs)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, byKey, nil
}

func objKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// syncSecrets hands the Secrets of the dataplane's namespace to the secrets store.
func (c *Controller) syncSecrets() {
	if c.opts.Secrets == nil {
		return
	}
	list, err := c.secInf.Core().V1().Secrets().Lister().Secrets(c.opts.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	values := map[string]string{}
	for _, s := range list {
		for k, v := range s.Data {
			values[s.Name+"/"+k] = string(v)
		}
	}
	c.opts.Secrets.Replace(values)
}

// Compiles is how many compile passes ran; StatusWrites how many status updates were sent.
func (c *Controller) Compiles() int64     { return c.compiles.Load() }
func (c *Controller) StatusWrites() int64 { return c.statusWrites.Load() }

// Leading reports whether this replica writes status.
func (c *Controller) Leading() bool { return c.leading.Load() }
