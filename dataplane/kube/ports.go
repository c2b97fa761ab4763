package kube

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"sort"
	"time"

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

// allocate gives each Gateway listener port its own port of r: a hash of the Gateway and port,
// probed to the next free port with the oldest Gateways placed first. Every replica computes
// the same from the same Gateways, and a Gateway's ports stay put as others come and go (a
// port moves only when the Gateway it had collided with goes). keys are ordered oldest
// Gateway first; those that find no port (the range is full) are returned apart.
func allocate(keys []gwPort, r PortRange) (map[gwPort]int32, []gwPort) {
	out := make(map[gwPort]int32, len(keys))
	if !r.enabled() {
		return out, keys
	}
	size := uint32(r.Last - r.First + 1)
	used := map[int32]bool{}
	var full []gwPort
	for _, k := range keys {
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
	alloc, full := allocate(c.gatewayPorts(cfg, cp), c.opts.GatewayPorts)
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
