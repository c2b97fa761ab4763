package kube

import (
	"context"
	"encoding/base64"
	"log/slog"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
)

// namedObjects watches the objects of one kind (Secret, ConfigMap) that our resources name by
// namespace and name: one namespace-scoped informer per namespace that holds one, started when
// a resource first names an object there and stopped when none does. Only the named objects
// reach the compile, so a namespace's other Secrets and ConfigMaps are never compiled.
type namedObjects struct {
	c    *Controller
	kind string
	// refs are the objects (by namespace/name) named now.
	refs func() map[string]gateway.NamespacedName
	// start asks f for the kind's informer and returns it with a reader of one named object.
	start func(f informers.SharedInformerFactory) (cache.SharedIndexInformer, func(namespace, name string) *manifest.Object)

	mu   sync.Mutex
	byNS map[string]*nsWatch
	// done stops every informer (the controller's context).
	done <-chan struct{}
}

type nsWatch struct {
	get    func(namespace, name string) *manifest.Object
	synced cache.InformerSynced
	stop   chan struct{}
}

// certSyncTimeout bounds the wait for a new namespace's objects before compiling without them
// (their events compile again once they arrive).
const certSyncTimeout = 10 * time.Second

// newCertSecrets watches the Secrets our Gateways name as certificates (listener
// certificateRefs, spec.tls.backend.clientCertificateRef).
func newCertSecrets(c *Controller) *namedObjects {
	return &namedObjects{c: c, kind: "Secret", byNS: map[string]*nsWatch{}, done: c.ctx.Done(),
		refs: func() map[string]gateway.NamespacedName {
			return c.gatewayRefs("Secret", [][]string{{"tls", "certificateRefs"}}, [][]string{{"spec", "tls", "backend", "clientCertificateRef"}})
		},
		start: func(f informers.SharedInformerFactory) (cache.SharedIndexInformer, func(string, string) *manifest.Object) {
			inf := f.Core().V1().Secrets()
			return inf.Informer(), func(namespace, name string) *manifest.Object {
				sec, err := inf.Lister().Secrets(namespace).Get(name)
				if err != nil || sec.DeletionTimestamp != nil {
					return nil
				}
				data := map[string]any{}
				for k, v := range sec.Data {
					data[k] = base64.StdEncoding.EncodeToString(v)
				}
				return &manifest.Object{APIVersion: "v1", Kind: "Secret", Namespace: sec.Namespace, Name: sec.Name,
					File: "Secret/" + sec.Namespace + "/" + sec.Name,
					Content: map[string]any{"apiVersion": "v1", "kind": "Secret", "type": string(sec.Type), "data": data,
						"metadata": map[string]any{"name": sec.Name, "namespace": sec.Namespace, "resourceVersion": sec.ResourceVersion}}}
			}
		}}
}

// newCAConfigMaps watches the ConfigMaps named as CA bundles: by our Gateways' spec.tls.frontend
// (client certificate validation) and by BackendTLSPolicies' validation.caCertificateRefs
// (these name ConfigMaps of the policy's own namespace).
func newCAConfigMaps(c *Controller) *namedObjects {
	return &namedObjects{c: c, kind: "ConfigMap", byNS: map[string]*nsWatch{}, done: c.ctx.Done(),
		refs: func() map[string]gateway.NamespacedName {
			out := c.gatewayRefs("ConfigMap", nil, [][]string{{"spec", "tls", "frontend", "default", "validation", "caCertificateRefs"}})
			for _, u := range c.ourGateways() {
				fs, _, _ := unstructured.NestedSlice(u.Object, "spec", "tls", "frontend", "perPort")
				for _, f := range fs {
					if m, ok := f.(map[string]any); ok {
						refs, _, _ := unstructured.NestedSlice(m, "tls", "validation", "caCertificateRefs")
						c.addRefs(out, "ConfigMap", u.GetNamespace(), refs)
					}
				}
			}
			for _, u := range c.list("BackendTLSPolicy") {
				if u.GetDeletionTimestamp() != nil {
					continue
				}
				refs, _, _ := unstructured.NestedSlice(u.Object, "spec", "validation", "caCertificateRefs")
				var local []any
				for _, r := range refs {
					if m, ok := r.(map[string]any); ok {
						m = map[string]any{"group": m["group"], "kind": m["kind"], "name": m["name"]} // no namespace field: always the policy's
						local = append(local, m)
					}
				}
				c.addRefs(out, "ConfigMap", u.GetNamespace(), local)
			}
			return out
		},
		start: func(f informers.SharedInformerFactory) (cache.SharedIndexInformer, func(string, string) *manifest.Object) {
			inf := f.Core().V1().ConfigMaps()
			return inf.Informer(), func(namespace, name string) *manifest.Object {
				cm, err := inf.Lister().ConfigMaps(namespace).Get(name)
				if err != nil || cm.DeletionTimestamp != nil {
					return nil
				}
				data := map[string]any{}
				for k, v := range cm.Data {
					data[k] = v
				}
				return &manifest.Object{APIVersion: "v1", Kind: "ConfigMap", Namespace: cm.Namespace, Name: cm.Name,
					File: "ConfigMap/" + cm.Namespace + "/" + cm.Name,
					Content: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": data,
						"metadata": map[string]any{"name": cm.Name, "namespace": cm.Namespace, "resourceVersion": cm.ResourceVersion}}}
			}
		}}
}

// ourGateways are the Gateways of our classes that are not being deleted.
func (c *Controller) ourGateways() []*unstructured.Unstructured {
	ours := map[string]bool{}
	for _, u := range c.list("GatewayClass") {
		if ctl, _, _ := unstructured.NestedString(u.Object, "spec", "controllerName"); ctl == c.opts.Compile.ControllerName {
			ours[u.GetName()] = true
		}
	}
	var out []*unstructured.Unstructured
	for _, u := range c.list("Gateway") {
		if class, _, _ := unstructured.NestedString(u.Object, "spec", "gatewayClassName"); ours[class] && u.GetDeletionTimestamp() == nil {
			out = append(out, u)
		}
	}
	return out
}

// gatewayRefs are the objects of kind (namespace/name) our Gateways name: at listenerPaths in
// each listener (lists of refs) and at gatewayPaths in the Gateway (a ref or a list of refs).
func (c *Controller) gatewayRefs(kind string, listenerPaths, gatewayPaths [][]string) map[string]gateway.NamespacedName {
	out := map[string]gateway.NamespacedName{}
	for _, u := range c.ourGateways() {
		ls, _, _ := unstructured.NestedSlice(u.Object, "spec", "listeners")
		for _, l := range ls {
			lm, _ := l.(map[string]any)
			for _, p := range listenerPaths {
				refs, _, _ := unstructured.NestedSlice(lm, p...)
				c.addRefs(out, kind, u.GetNamespace(), refs)
			}
		}
		for _, p := range gatewayPaths {
			v, _, _ := unstructured.NestedFieldNoCopy(u.Object, p...)
			switch v := v.(type) {
			case map[string]any:
				c.addRefs(out, kind, u.GetNamespace(), []any{v})
			case []any:
				c.addRefs(out, kind, u.GetNamespace(), v)
			}
		}
	}
	return out
}

// addRefs adds to out the core objects of kind that refs (object references made from fromNS)
// name; one in another namespace only with a ReferenceGrant, since RefNotPermitted needs no
// object and none of that namespace is read.
func (c *Controller) addRefs(out map[string]gateway.NamespacedName, kind, fromNS string, refs []any) {
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		group, _ := ref["group"].(string)
		k, _ := ref["kind"].(string)
		name, _ := ref["name"].(string)
		ns, _ := ref["namespace"].(string)
		if group != "" || (k != "" && k != kind) || name == "" {
			continue
		}
		if ns == "" {
			ns = fromNS
		}
		if ns != fromNS && !c.granted(fromNS, ns, kind, name) {
			continue
		}
		out[ns+"/"+name] = gateway.NamespacedName{Namespace: ns, Name: name}
	}
}

// granted reports whether a ReferenceGrant in namespace ns lets Gateways of gwNS refer to
// the kind (core group) ns/name (the compiler decides the same; this only keeps ungranted
// namespaces' objects out of memory).
func (c *Controller) granted(gwNS, ns, kind, name string) bool {
	for _, g := range c.list("ReferenceGrant") {
		if g.GetNamespace() != ns {
			continue
		}
		from, _, _ := unstructured.NestedSlice(g.Object, "spec", "from")
		to, _, _ := unstructured.NestedSlice(g.Object, "spec", "to")
		fromOK, toOK := false, false
		for _, f := range from {
			m, _ := f.(map[string]any)
			fromOK = fromOK || m["group"] == gateway.GroupGateway && m["kind"] == "Gateway" && m["namespace"] == gwNS
		}
		for _, t := range to {
			m, _ := t.(map[string]any)
			n, _ := m["name"].(string)
			toOK = toOK || (m["group"] == "" || m["group"] == nil) && m["kind"] == kind && (n == "" || n == name)
		}
		if fromOK && toOK {
			return true
		}
	}
	return false
}

// watch starts the informers of namespaces refs names and stops the others; a new namespace's
// objects are waited for (at most certSyncTimeout) so the compile that follows sees them.
func (s *namedObjects) watch(refs map[string]gateway.NamespacedName) {
	want := map[string]bool{}
	for _, r := range refs {
		want[r.Namespace] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for ns, w := range s.byNS {
		if !want[ns] {
			close(w.stop)
			delete(s.byNS, ns)
			s.c.log.Debug("named objects: stopped watching namespace", slog.String("kind", s.kind), slog.String("namespace", ns))
		}
	}
	var started []cache.InformerSynced
	for ns := range want {
		if s.byNS[ns] != nil {
			continue
		}
		f := informers.NewSharedInformerFactoryWithOptions(s.c.cs, s.c.opts.Resync, informers.WithNamespace(ns))
		inf, get := s.start(f)
		kick := func(obj any) {
			if o, ok := obj.(metav1.Object); ok {
				if _, named := s.refs()[o.GetNamespace()+"/"+o.GetName()]; !named {
					return // another object of the namespace: nothing to compile
				}
			}
			s.c.Kick()
		}
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: kick, UpdateFunc: func(_, n any) { kick(n) },
			DeleteFunc: func(obj any) {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				kick(obj)
			},
		})
		w := &nsWatch{get: get, synced: inf.HasSynced, stop: make(chan struct{})}
		f.Start(mergeStop(s.done, w.stop))
		s.byNS[ns] = w
		started = append(started, w.synced)
		s.c.log.Debug("named objects: watching namespace", slog.String("kind", s.kind), slog.String("namespace", ns))
	}
	if len(started) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), certSyncTimeout)
		defer cancel()
		cache.WaitForCacheSync(mergeStop(s.done, ctx.Done()), started...)
	}
}

// objects are the named objects that exist, as the compiler reads them in an input.
func (s *namedObjects) objects(refs map[string]gateway.NamespacedName) []*manifest.Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(refs))
	for k := range refs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*manifest.Object
	for _, k := range keys {
		r := refs[k]
		if w := s.byNS[r.Namespace]; w != nil {
			if o := w.get(r.Namespace, r.Name); o != nil {
				out = append(out, o)
			}
		}
	}
	return out
}

// mergeStop is closed when either a or b is.
func mergeStop(a, b <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		select {
		case <-a:
		case <-b:
		}
	}()
	return out
}
