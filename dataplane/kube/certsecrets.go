package kube

import (
	"context"
	"encoding/base64"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/informers"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
)

// certSecrets watches the Secrets our Gateways name as certificates (listener certificateRefs,
// spec.tls.backend.clientCertificateRef): one namespace-scoped informer per namespace that
// holds one, started when a Gateway first names a Secret there and stopped when none does.
// Only the named Secrets reach the compile (and so the certificate store).
type certSecrets struct {
	c *Controller

	mu   sync.Mutex
	byNS map[string]*nsSecrets
	// done stops every informer (the controller's context).
	done <-chan struct{}
}

type nsSecrets struct {
	lister listersv1.SecretLister
	synced cache.InformerSynced
	stop   chan struct{}
}

// certSyncTimeout bounds the wait for a new namespace's Secrets before compiling without them
// (their events compile again once they arrive).
const certSyncTimeout = 10 * time.Second

// refs are the Secrets (namespace/name) the Gateways of our classes name as certificates.
func (s *certSecrets) refs() map[string]gateway.NamespacedName {
	ours := map[string]bool{}
	for _, u := range s.c.list("GatewayClass") {
		if ctl, _, _ := unstructured.NestedString(u.Object, "spec", "controllerName"); ctl == s.c.opts.Compile.ControllerName {
			ours[u.GetName()] = true
		}
	}
	out := map[string]gateway.NamespacedName{}
	add := func(gwNS string, ref map[string]any) {
		group, _ := ref["group"].(string)
		kind, _ := ref["kind"].(string)
		name, _ := ref["name"].(string)
		ns, _ := ref["namespace"].(string)
		if group != "" || (kind != "" && kind != "Secret") || name == "" {
			return
		}
		if ns == "" {
			ns = gwNS
		}
		if ns != gwNS && !s.granted(gwNS, ns, name) {
			return // RefNotPermitted needs no Secret: none of that namespace is read
		}
		out[ns+"/"+name] = gateway.NamespacedName{Namespace: ns, Name: name}
	}
	for _, u := range s.c.list("Gateway") {
		if class, _, _ := unstructured.NestedString(u.Object, "spec", "gatewayClassName"); !ours[class] || u.GetDeletionTimestamp() != nil {
			continue
		}
		ls, _, _ := unstructured.NestedSlice(u.Object, "spec", "listeners")
		for _, l := range ls {
			lm, _ := l.(map[string]any)
			refs, _, _ := unstructured.NestedSlice(lm, "tls", "certificateRefs")
			for _, r := range refs {
				if m, ok := r.(map[string]any); ok {
					add(u.GetNamespace(), m)
				}
			}
		}
		if m, ok, _ := unstructured.NestedMap(u.Object, "spec", "tls", "backend", "clientCertificateRef"); ok {
			add(u.GetNamespace(), m)
		}
	}
	return out
}

// granted reports whether a ReferenceGrant in namespace ns lets Gateways of gwNS refer to
// Secret ns/name (the compiler decides the same; this only keeps ungranted namespaces' Secrets
// out of memory).
func (s *certSecrets) granted(gwNS, ns, name string) bool {
	for _, g := range s.c.list("ReferenceGrant") {
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
			toOK = toOK || (m["group"] == "" || m["group"] == nil) && m["kind"] == "Secret" && (n == "" || n == name)
		}
		if fromOK && toOK {
			return true
		}
	}
	return false
}

// watch starts the informers of namespaces refs names and stops the others; a new namespace's
// Secrets are waited for (at most certSyncTimeout) so the compile that follows sees them.
func (s *certSecrets) watch(refs map[string]gateway.NamespacedName) {
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
			s.c.log.Debug("certificate Secrets: stopped watching namespace", slog.String("namespace", ns))
		}
	}
	var started []cache.InformerSynced
	for ns := range want {
		if s.byNS[ns] != nil {
			continue
		}
		f := informers.NewSharedInformerFactoryWithOptions(s.c.cs, s.c.opts.Resync, informers.WithNamespace(ns))
		inf := f.Core().V1().Secrets()
		kick := func(obj any) {
			if sec, ok := obj.(*corev1.Secret); ok {
				if _, named := s.refsNow()[sec.Namespace+"/"+sec.Name]; !named {
					return // another Secret of the namespace: nothing to compile
				}
			}
			s.c.Kick()
		}
		_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: kick, UpdateFunc: func(_, n any) { kick(n) },
			DeleteFunc: func(obj any) {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				kick(obj)
			},
		})
		w := &nsSecrets{lister: inf.Lister(), synced: inf.Informer().HasSynced, stop: make(chan struct{})}
		f.Start(mergeStop(s.done, w.stop))
		s.byNS[ns] = w
		started = append(started, w.synced)
		s.c.log.Debug("certificate Secrets: watching namespace", slog.String("namespace", ns))
	}
	if len(started) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), certSyncTimeout)
		defer cancel()
		cache.WaitForCacheSync(mergeStop(s.done, ctx.Done()), started...)
	}
}

// refsNow is refs, for event handlers (they run outside sync).
func (s *certSecrets) refsNow() map[string]gateway.NamespacedName { return s.refs() }

// objects are the named Secrets that exist, as the compiler reads Secrets of an input.
func (s *certSecrets) objects(refs map[string]gateway.NamespacedName) []*manifest.Object {
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
		w := s.byNS[r.Namespace]
		if w == nil {
			continue
		}
		sec, err := w.lister.Secrets(r.Namespace).Get(r.Name)
		if err != nil || sec.DeletionTimestamp != nil {
			continue
		}
		data := map[string]any{}
		for k, v := range sec.Data {
			data[k] = base64.StdEncoding.EncodeToString(v)
		}
		out = append(out, &manifest.Object{APIVersion: "v1", Kind: "Secret", Namespace: sec.Namespace, Name: sec.Name,
			File: "Secret/" + sec.Namespace + "/" + sec.Name,
			Content: map[string]any{"apiVersion": "v1", "kind": "Secret", "type": string(sec.Type), "data": data,
				"metadata": map[string]any{"name": sec.Name, "namespace": sec.Namespace, "resourceVersion": sec.ResourceVersion}}})
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
