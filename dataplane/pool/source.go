package pool

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
)

// Source yields the pool's endpoint addresses (host:port). It is called at Start and then every
// Config.ResolveInterval; an error keeps the previous set.
type Source interface {
	Endpoints(ctx context.Context, targetPorts []int) ([]string, error)
}

// StaticSource is a fixed list of host:port endpoints (local runs); target ports are ignored.
type StaticSource []string

// Endpoints returns the list after checking each entry is host:port.
func (s StaticSource) Endpoints(context.Context, []int) ([]string, error) {
	for _, a := range s {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("static endpoint %q: %w", a, err)
		}
	}
	return slices.Clone([]string(s)), nil
}

// DNSSource resolves a headless Service name (for example "vllm.ns.svc.cluster.local") to the
// ready Pod IPs and makes one endpoint per IP and target port, as an InferencePool does.
type DNSSource struct {
	Host     string
	Resolver *net.Resolver // default net.DefaultResolver
}

// Endpoints resolves Host and crosses the addresses with the target ports.
func (s DNSSource) Endpoints(ctx context.Context, ports []int) ([]string, error) {
	if len(ports) == 0 {
		return nil, fmt.Errorf("dns source %s: no target ports", s.Host)
	}
	r := s.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupHost(ctx, s.Host)
	if err != nil {
		return nil, fmt.Errorf("dns source: resolve %s: %w", s.Host, err)
	}
	slices.Sort(ips)
	out := make([]string, 0, len(ips)*len(ports))
	for _, ip := range ips {
		for _, p := range ports {
			out = append(out, net.JoinHostPort(ip, strconv.Itoa(p)))
		}
	}
	return out, nil
}
