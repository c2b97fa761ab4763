package kube

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/pkg/gateway"
)

// Endpoints keeps the ready addresses of every Service port from its EndpointSlices (rebuilt on
// each EndpointSlice or Service event, read lock-free per request) and answers InferencePool
// sources from the Pods their selectors match.
type Endpoints struct {
	log      *slog.Logger
	slices   cache.SharedIndexInformer
	services cache.SharedIndexInformer
	pods     cache.SharedIndexInformer

	mu   sync.Mutex // serialises rebuilds
	snap atomic.Pointer[map[string][]string]
	// changed is closed and replaced on every rebuild (tests and pools wait on it).
	changed atomic.Pointer[chan struct{}]
}

const byService = "service"

// NewEndpoints keeps the endpoints of what f lists (one namespace when f is limited to it). It
// adds its informers to f: start f and wait for its caches before reading. `dataplane epp`
// uses it for its one pool.
func NewEndpoints(f informers.SharedInformerFactory, log *slog.Logger) *Endpoints {
	return newEndpoints(f, log)
}

func newEndpoints(f informers.SharedInformerFactory, log *slog.Logger) *Endpoints {
	e := &Endpoints{
		log:      log,
		slices:   f.Discovery().V1().EndpointSlices().Informer(),
		services: f.Core().V1().Services().Informer(),
		pods:     f.Core().V1().Pods().Informer(),
	}
	empty := map[string][]string{}
	e.snap.Store(&empty)
	ch := make(chan struct{})
	e.changed.Store(&ch)
	_ = e.slices.AddIndexers(cache.Indexers{byService: func(obj any) ([]string, error) {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || s.Labels[discoveryv1.LabelServiceName] == "" {
			return nil, nil
		}
		return []string{s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]}, nil
	}})
	_ = e.pods.SetTransform(trimPod)
	rebuild := cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { e.rebuild() }, UpdateFunc: func(any, any) { e.rebuild() }, DeleteFunc: func(any) { e.rebuild() },
	}
	_, _ = e.slices.AddEventHandler(rebuild)
	_, _ = e.services.AddEventHandler(rebuild)
	_, _ = e.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { e.notify() }, UpdateFunc: func(any, any) { e.notify() }, DeleteFunc: func(any) { e.notify() },
	})
	return e
}

// trimPod keeps what endpoint picking reads (labels, IP, readiness), not the pod spec.
func trimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{}
	out.Name, out.Namespace, out.Labels, out.UID = p.Name, p.Namespace, p.Labels, p.UID
	out.ResourceVersion, out.DeletionTimestamp = p.ResourceVersion, p.DeletionTimestamp
	out.Status.PodIP, out.Status.Phase = p.Status.PodIP, p.Status.Phase
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			out.Status.Conditions = []corev1.PodCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	return out, nil
}

func (e *Endpoints) notify() {
	next := make(chan struct{})
	old := e.changed.Swap(&next)
	close(*old)
}

// Changed is closed at the next endpoint change.
func (e *Endpoints) Changed() <-chan struct{} { return *e.changed.Load() }

func svcKey(ns, name string, port int32) string {
	return ns + "/" + name + ":" + strconv.Itoa(int(port))
}

// rebuild recomputes every Service port's ready addresses.
func (e *Endpoints) rebuild() {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := map[string][]string{}
	for _, obj := range e.services.GetStore().List() {
		svc, ok := obj.(*corev1.Service)
		if !ok {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			k := svcKey(svc.Namespace, svc.Name, sp.Port)
			if svc.Spec.Type == corev1.ServiceTypeExternalName {
				next[k] = []string{net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(sp.Port)))}
				continue
			}
			next[k] = e.ready(svc.Namespace, svc.Name, sp.Name)
		}
	}
	e.snap.Store(&next)
	e.notify()
}

// ready lists the ready endpoints of a Service port (by its name, as EndpointSlices name ports).
func (e *Endpoints) ready(ns, name, portName string) []string {
	objs, _ := e.slices.GetIndexer().ByIndex(byService, ns+"/"+name)
	var out []string
	for _, obj := range objs {
		s := obj.(*discoveryv1.EndpointSlice)
		var port int32
		for _, p := range s.Ports {
			if p.Port != nil && (p.Name == nil && portName == "" || p.Name != nil && *p.Name == portName) {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				out = append(out, net.JoinHostPort(a, strconv.Itoa(int(port))))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Service returns the ready addresses of a Service port.
func (e *Endpoints) Service(ns, name string, port int32) []string {
	return (*e.snap.Load())[svcKey(ns, name, port)]
}

// ServiceHandler proxies each request to one ready endpoint of the Service port, round robin,
// and answers 503 with a body that names the Service when it has none.
func (e *Endpoints) ServiceHandler(b *gateway.Backend, newProxy func(id, addr string) http.Handler) http.Handler {
	s := b.Service
	key := svcKey(s.Namespace, s.Name, s.Port)
	msg := fmt.Sprintf("no ready endpoints for Service %s/%s port %d", s.Namespace, s.Name, s.Port)
	h := &serviceHandler{e: e, key: key, msg: msg, id: b.ID, newProxy: newProxy}
	return h
}

type serviceHandler struct {
	e        *Endpoints
	key, msg string
	id       string
	newProxy func(id, addr string) http.Handler
	rr       atomic.Uint64
	proxies  sync.Map // addr -> http.Handler
}

func (h *serviceHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	addrs := (*h.e.snap.Load())[h.key]
	if len(addrs) == 0 {
		proxy.WriteError(w, http.StatusServiceUnavailable, h.msg)
		return
	}
	addr := addrs[int(h.rr.Add(1)-1)%len(addrs)]
	p, ok := h.proxies.Load(addr)
	if !ok {
		p, _ = h.proxies.LoadOrStore(addr, h.newProxy(h.id, addr))
	}
	p.(http.Handler).ServeHTTP(w, r)
}

// PoolSource is an InferencePool's endpoints: the ready Pods in its namespace that match its
// selector, crossed with its target ports (as the Inference Extension specifies).
type PoolSource struct {
	E         *Endpoints
	Namespace string
	Selector  map[string]string
}

// Endpoints lists ip:port for every ready, matching Pod.
func (s PoolSource) Endpoints(_ context.Context, ports []int) ([]string, error) {
	if len(ports) == 0 {
		return nil, fmt.Errorf("pool %s: no target ports", s.Namespace)
	}
	sel := labels.SelectorFromSet(s.Selector)
	objs, err := s.E.pods.GetIndexer().ByIndex(cache.NamespaceIndex, s.Namespace)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, obj := range objs {
		p := obj.(*corev1.Pod)
		if p.DeletionTimestamp != nil || p.Status.PodIP == "" || !podReady(p) || !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		for _, port := range ports {
			out = append(out, net.JoinHostPort(p.Status.PodIP, strconv.Itoa(port)))
		}
	}
	slices.Sort(out)
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
