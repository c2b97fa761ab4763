package epp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/infergw/gwctl/dataplane/kube"
	"github.com/infergw/gwctl/dataplane/pool"
)

var gvrInferencePool = schema.GroupVersionResource{Group: "inference.networking.k8s.io", Version: "v1", Resource: "inferencepools"}

// kubeResolveInterval is how often the pool re-reads its Pods from the informer's cache (a
// memory read): a Pod that stops being ready leaves the picks within it.
const kubeResolveInterval = 200 * time.Millisecond

// watchKubernetes follows the InferencePool o.Pool in the API server: its selector and target
// ports from the object, its endpoints from the ready Pods the selector matches (dataplane/kube's
// Endpoints, as the dataplane's Kubernetes mode). It returns once the pool serves, waiting for
// the InferencePool to exist; a change to the object builds the next pool. A deleted
// InferencePool keeps the last one served (its Pods still come and go).
func watchKubernetes(ctx context.Context, o ServeOptions, ps *pools, log *slog.Logger) error {
	ns, name, ok := strings.Cut(o.Pool, "/")
	if !ok || ns == "" || name == "" {
		return fmt.Errorf("epp: Kubernetes mode needs the pool as namespace/name, got %q", o.Pool)
	}
	cfg := rest.CopyConfig(o.Kubernetes)
	cfg.UserAgent = "gwctl-dataplane-epp"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("epp: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("epp: %w", err)
	}
	// Only the pool's namespace, and of InferencePools only the pool.
	inf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	eps := kube.NewEndpoints(inf, log)
	dinf := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, func(lo *metav1.ListOptions) {
		lo.FieldSelector = "metadata.name=" + name
	})
	pi := dinf.ForResource(gvrInferencePool).Informer()
	kick := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	if _, err := pi.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: poke, UpdateFunc: func(_, o any) { poke(o) }, DeleteFunc: poke}); err != nil {
		return err
	}
	inf.Start(ctx.Done())
	dinf.Start(ctx.Done())
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for typ, ok := range inf.WaitForCacheSync(wctx.Done()) {
		if !ok {
			return fmt.Errorf("epp: %v did not sync from the API server", typ)
		}
	}
	if !cache.WaitForCacheSync(wctx.Done(), pi.HasSynced) {
		return fmt.Errorf("epp: InferencePools (%s) did not sync from the API server: are the Inference Extension's CRDs installed?", gvrInferencePool.GroupVersion())
	}

	sync := func() {
		obj, exists, err := pi.GetStore().GetByKey(ns + "/" + name)
		if err != nil || !exists {
			if ps.server() != nil {
				log.Warn("InferencePool gone: picking among the last one's Pods", "pool", o.Pool)
			}
			return
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		pc, err := kubePoolConfig(u, eps)
		if err == nil {
			err = ps.apply(pc)
		}
		if err != nil {
			log.Error("InferencePool not applied", "pool", o.Pool, "error", err)
		}
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				sync()
			}
		}
	}()
	poke(nil)
	log.Info("waiting for the InferencePool", "pool", o.Pool)
	select {
	case <-ps.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kubePoolConfig is the pool of an InferencePool object: spec.selector.matchLabels and
// spec.targetPorts[].number (the fields pkg/gateway compiles), its Pods from eps.
func kubePoolConfig(u *unstructured.Unstructured, eps *kube.Endpoints) (pool.Config, error) {
	where := "InferencePool " + u.GetNamespace() + "/" + u.GetName()
	sel, _, err := unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels")
	if err != nil {
		return pool.Config{}, fmt.Errorf("%s: spec.selector.matchLabels: %w", where, err)
	}
	if len(sel) == 0 {
		return pool.Config{}, errors.New(where + ": spec.selector.matchLabels is empty")
	}
	tps, _, err := unstructured.NestedSlice(u.Object, "spec", "targetPorts")
	if err != nil {
		return pool.Config{}, fmt.Errorf("%s: spec.targetPorts: %w", where, err)
	}
	var ports []int
	for i, tp := range tps {
		m, _ := tp.(map[string]any)
		n, ok := m["number"].(int64)
		if !ok || n < 1 || n > 65535 {
			return pool.Config{}, fmt.Errorf("%s: spec.targetPorts[%d].number: want a port number", where, i)
		}
		ports = append(ports, int(n))
	}
	if len(ports) == 0 {
		return pool.Config{}, errors.New(where + ": spec.targetPorts is empty")
	}
	fm := pool.FailClose
	if s, _, _ := unstructured.NestedString(u.Object, "spec", "endpointPickerRef", "failureMode"); s == "FailOpen" {
		fm = pool.FailOpen
	}
	return pool.Config{
		Name: u.GetNamespace() + "/" + u.GetName(), Selector: sel, TargetPorts: ports, FailureMode: fm,
		Source:          kube.PoolSource{E: eps, Namespace: u.GetNamespace(), Selector: sel},
		ResolveInterval: kubeResolveInterval,
	}, nil
}
