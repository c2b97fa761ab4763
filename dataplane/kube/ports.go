package kube

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/infergw/gwctl/pkg/gateway"
)

// PortRange are the ports the dataplane serves Gateways' listeners on, each Gateway on its own
// (see Options.GatewayPorts). The zero value turns per-Gateway ports off.
type PortRange struct{ First, Last int32 }

func (r PortRange) enabled() bool { return r.First > 0 && r.Last >= r.First && r.Last <= 65535 }

// ParsePortRange reads "FIRST-LAST".
func ParsePortRange(s string) (PortRange, error) {
	var r PortRange
	if _, err := fmt.Sscanf(s, "%d-%d", &r.First, &r.Last); err != nil || !r.enabled() {
		return PortRange{}, fmt.Errorf("port range %q: want FIRST-LAST within 1-65535", s)
	}
	return r, nil
}

// gwPort is one Gateway's listener port.
type gwPort struct {
	gw   gateway.NamespacedName
	port int32
}

// allocate gives each Gateway listener port its own port of r. A key keeps the port prior gives
// it (what its Gateway's Service says today), so a port never moves while its Gateway lives;
// the others get a hash of the Gateway and port, probed to the next free port, oldest Gateway
// first. Every replica computes the same from the same Gateways and Services. keys are ordered
// oldest Gateway first; those that find no port (the range is full) are returned apart.
func allocate(keys []gwPort, r PortRange, prior map[gwPort]int32) (map[gwPort]int32, []gwPort) {
	out := make(map[gwPort]int32, len(keys))
	if !r.enabled() {
		return out, keys
	}
	size := uint32(r.Last - r.First + 1)
	used := map[int32]bool{}
	for _, k := range keys { // ports already given keep their owners (the oldest, on a clash)
		if p, ok := prior[k]; ok && p >= r.First && p <= r.Last && !used[p] {
			used[p], out[k] = true, p
		}
	}
	var full []gwPort
	for _, k := range keys {
		if _, ok := out[k]; ok {
			continue
		}
		h := fnv.New32a()
		fmt.Fprintf(h, "%s/%s:%d", k.gw.Namespace, k.gw.Name, k.port)
		start := h.Sum32() % size
		placed := false
		for i := uint32(0); i < size; i++ {
			p := r.First + int32((start+i)%size)
			if !used[p] {
				used[p], out[k], placed = true, p, true
				break
			}
		}
		if !placed {
			full = append(full, k)
		}
	}
	return out, full
}

// priorPorts are the ports the Gateways' Services send each listener port to today.
func (c *Controller) priorPorts(keys []gwPort) map[gwPort]int32 {
	out := map[gwPort]int32{}
	if c.Endpoints == nil || c.Endpoints.services == nil {
		return out
	}
	store := c.Endpoints.services.GetStore()
	for _, k := range keys {
		obj, ok, _ := store.GetByKey(c.opts.Namespace + "/" + GatewayServiceName(k.gw))
		if !ok {
			continue
		}
		svc := obj.(*corev1.Service)
		if svc.Annotations[annotationGateway] != k.gw.String() || svc.Annotations[annotationControls] != c.opts.Compile.ControllerName {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			if sp.Port == k.port && sp.TargetPort.IntVal > 0 {
				out[k] = sp.TargetPort.IntVal
			}
		}
	}
	return out
}

// gatewayPorts are the listener ports of cfg's Gateways, oldest Gateway first (by
// creationTimestamp, then namespace/name), then by port.
func (c *Controller) gatewayPorts(cfg *gateway.Config, cp *compiled1) []gwPort {
	seen := map[gwPort]bool{}
	var keys []gwPort
	for _, l := range cfg.Listeners {
		k := gwPort{gw: l.Gateway, port: l.Port}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	created := func(gw gateway.NamespacedName) time.Time {
		if u := cp.byKey[objKey("Gateway", gw.Namespace, gw.Name)]; u != nil {
			return u.GetCreationTimestamp().Time
		}
		return time.Time{}
	}
	sort.SliceStable(keys, func(i, j int) bool {
		ti, tj := created(keys[i].gw), created(keys[j].gw)
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		if keys[i].gw != keys[j].gw {
			return keys[i].gw.String() < keys[j].gw.String()
		}
		return keys[i].port < keys[j].port
	})
	return keys
}

// assignPorts moves cfg's listeners to their Gateways' own ports (the router and the TLS table
// key listeners by port, so each Gateway's routes and certificates stay its own) and returns the
// assignment.
func (c *Controller) assignPorts(cfg *gateway.Config, cp *compiled1) map[gwPort]int32 {
	keys := c.gatewayPorts(cfg, cp)
	alloc, full := allocate(keys, c.opts.GatewayPorts, c.priorPorts(keys))
	for _, k := range full {
		c.log.Error("no free port left in --gateway-ports for a Gateway listener: it is not served",
			slog.String("gateway", k.gw.String()), slog.Int("port", int(k.port)))
	}
	kept := cfg.Listeners[:0:0]
	for _, l := range cfg.Listeners {
		if p, ok := alloc[gwPort{gw: l.Gateway, port: l.Port}]; ok {
			l.Port = p
			kept = append(kept, l)
		}
	}
	cfg.Listeners = kept
	return alloc
}

// bind opens the ports of alloc not yet open and closes the others (their connections drain).
// A port that cannot be opened is logged and tried again on the next compile.
func (c *Controller) bind(alloc map[gwPort]int32) {
	want := map[int32]bool{}
	for _, p := range alloc {
		want[p] = true
	}
	c.bindMu.Lock()
	defer c.bindMu.Unlock()
	for p, stop := range c.bound {
		if !want[p] {
			stop()
			delete(c.bound, p)
		}
	}
	for p := range want {
		if c.bound[p] != nil {
			continue
		}
		ln, err := c.opts.Listen(p)
		if err != nil {
			c.log.Error("cannot open a Gateway's port", slog.Int("port", int(p)), slog.String("error", err.Error()))
			continue
		}
		ctx, stop := context.WithCancel(c.ctx)
		c.bound[p] = stop
		go func() {
			if err := c.opts.Serve(ctx, ln, p); err != nil {
				c.log.Error("serving a Gateway's port", slog.Int("port", int(p)), slog.String("error", err.Error()))
			}
		}()
	}
}

// listenAll opens a port on every interface (the pod's address).
func listenAll(port int32) (net.Listener, error) {
	return net.Listen("tcp", fmt.Sprintf(":%d", port))
}
