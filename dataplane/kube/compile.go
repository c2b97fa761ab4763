package kube

import (
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"

	"github.com/infergw/gwctl/dataplane/config"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
)

// degradable are the error rules whose objects the Gateway API itself tells how to serve: a
// parentRef that does not attach leaves the route off that parent, and an unresolved backendRef
// answers 500 (both reported in the route's status). They do not stop a set from being applied.
// A certificate that does not resolve leaves its listener failing handshakes (its status says
// why: ResolvedRefs InvalidCertificateRef), not the other Gateways unserved. A CA certificate
// reference that does not resolve leaves its listener out (client validation) or its backend
// failing handshakes (BackendTLSPolicy); never served open.
var degradable = map[string]bool{
	"gateway.parent-ref": true, "gateway.backend-ref": true, "gateway.reference-grant": true, "gateway.backend-kind": true,
	"gateway.certificate": true, "gateway.ca-certificate": true,
}

// blocks reports whether finding f keeps a set from being applied: an error that is not
// degradable. A BackendTLSPolicy's own TLS errors do not: its targets then fail every
// handshake (a 502, never plaintext) and its status says why, as the Gateway API requires, so
// a broken policy (possibly another implementation's) leaves the rest served.
func blocks(f finding.Finding) bool {
	return f.Severity == finding.Error && !degradable[f.Rule] && !(f.Rule == "gateway.tls" && f.Resource.Kind == "BackendTLSPolicy")
}

// sync compiles the cluster's resources and applies them. An HTTPRoute with any other error is
// left out (its requests get 404 instead of running half-compiled) and its status says why; an
// error on any other kind (a policy, a backend) keeps the last good config, since serving
// without a broken policy would serve without its protection. It then writes status when leading.
func (c *Controller) sync() *compiled1 {
	c.compiles.Add(1)
	objs, byKey, err := c.objects()
	cp := &compiled1{objs: objs, byKey: byKey, dropped: map[gateway.NamespacedName]string{}}
	if err != nil {
		cp.err = err
		return c.finish(cp)
	}
	var cfg *gateway.Config
	var fs []finding.Finding
	for pass := 0; pass < 2; pass++ {
		cfg, fs = gateway.Compile(objs, c.opts.Compile)
		blocking := blockingRoutes(fs)
		if len(blocking) == 0 || pass == 1 {
			break
		}
		kept := objs[:0:0]
		for _, o := range objs {
			n := gateway.NamespacedName{Namespace: o.Namespace, Name: o.Name}
			if o.Kind == "HTTPRoute" && blocking[n] != "" {
				cp.dropped[n] = blocking[n]
				continue
			}
			kept = append(kept, o)
		}
		objs = kept
	}
	var alloc map[gwPort]int32
	if c.opts.GatewayPorts.enabled() {
		alloc = c.assignPorts(cfg, cp)
	}
	res := &config.Result{Config: cfg, Findings: fs, Fingerprint: fingerprint(objs)}
	cp.res = res
	var errs []string
	for _, f := range fs {
		if blocks(f) {
			errs = append(errs, f.String())
		}
	}
	if len(errs) > 0 {
		cp.err = &config.InvalidError{Findings: fs}
		if c.opts.OnReject != nil {
			c.opts.OnReject()
		}
		c.log.Error("resources do not compile: keeping the last good config", slog.String("errors", strings.Join(errs, "; ")))
		return c.finish(cp)
	}
	if err := c.opts.Apply(res); err != nil {
		cp.err = err
		c.log.Error("config rejected: keeping the last good config", slog.String("error", err.Error()))
		return c.finish(cp)
	}
	cp.applied = true
	if alloc != nil {
		c.bind(alloc)
		c.bindMu.Lock()
		c.alloc = alloc
		c.bindMu.Unlock()
	}
	for n, why := range cp.dropped {
		c.log.Warn("HTTPRoute left out: it does not compile", slog.String("route", n.String()), slog.String("findings", why))
	}
	return c.finish(cp)
}

// finish records the pass and writes status if this replica leads.
func (c *Controller) finish(cp *compiled1) *compiled1 {
	if !cp.applied && cp.err == nil {
		cp.err = errors.New("not applied")
	}
	c.mu.Lock()
	c.last = cp
	c.mu.Unlock()
	if c.leading.Load() {
		c.writeStatus()
	}
	return cp
}

// blockingRoutes are the HTTPRoutes with error findings other than degradable ones, with the
// findings' text.
func blockingRoutes(fs []finding.Finding) map[gateway.NamespacedName]string {
	out := map[gateway.NamespacedName]string{}
	for _, f := range fs {
		if !blocks(f) || f.Resource.Kind != "HTTPRoute" {
			continue
		}
		n := gateway.NamespacedName{Namespace: f.Resource.Namespace, Name: f.Resource.Name}
		if out[n] != "" {
			out[n] += "; "
		}
		out[n] += f.Field + ": " + f.Message
	}
	return out
}

// fingerprint identifies a set by its objects' resource versions.
func fingerprint(objs []*manifest.Object) [32]byte {
	h := sha256.New()
	for _, o := range objs {
		rv, _ := o.Get("metadata", "resourceVersion")
		s, _ := rv.(string)
		h.Write([]byte(o.File + "@" + s + "\x00"))
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
