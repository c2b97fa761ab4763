package pool

import (
	"strings"

	"github.com/infergw/gwctl/pkg/gateway"
)

// FromBackend is the Config of a compiled InferencePool. Its endpoints come from
// endpoints["name.namespace"] when listed (local runs), else from the DNS of the headless
// Service named after the pool (name.namespace.svc.<clusterDomain>) crossed with targetPorts.
func FromBackend(b *gateway.Backend, endpoints map[string][]string, clusterDomain string) Config {
	cfg := Config{Name: b.Namespace + "/" + b.Name, Selector: b.Pool.Selector}
	for _, p := range b.Pool.TargetPorts {
		cfg.TargetPorts = append(cfg.TargetPorts, int(p))
	}
	if b.Pool.Picker != nil && b.Pool.Picker.FailOpen {
		cfg.FailureMode = FailOpen
	}
	if eps, ok := endpoints[b.Name+"."+b.Namespace]; ok {
		cfg.Source = StaticSource(eps)
		return cfg
	}
	if clusterDomain == "" {
		clusterDomain = "cluster.local"
	}
	cfg.Source = DNSSource{Host: b.Name + "." + b.Namespace + ".svc." + strings.TrimSuffix(clusterDomain, ".")}
	return cfg
}
