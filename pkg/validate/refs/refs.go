package refs

import (
	"cmp"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// Rule ids of the cross-resource checks.
const (
	RuleParentRef      = "refs/parent-ref"
	RuleListener       = "refs/listener"
	RuleBackendRef     = "refs/backend-ref"
	RuleReferenceGrant = "refs/reference-grant"
	RuleTargetRef      = "refs/target-ref"
	RuleJWKSBackend    = "refs/jwks-backend"
	RuleMCPSelector    = "refs/mcp-selector"
	RuleSecretRef      = "refs/secret"
	RuleModelHeader    = "refs/model-header"
	RuleGatewayClass   = "refs/gateway-class"
)

// crossResource runs the checks that need the whole input.
func Check(s *objects.Set) []finding.Finding {
	// The per-object checks only read the set: chunks of it run side by side, in input order.
	chunks := runtime.GOMAXPROCS(0) * 2
	size := (len(s.All) + chunks - 1) / chunks
	parts := make([][]finding.Finding, chunks+2)
	var wg sync.WaitGroup
	for c := 0; c < chunks && c*size < len(s.All); c++ {
		wg.Go(func() {
			var out []finding.Finding
			for _, e := range s.All[c*size : min((c+1)*size, len(s.All))] {
				out = append(out, checkObject(s, e)...)
			}
			parts[c] = out
		})
	}
	wg.Go(func() { parts[chunks] = checkModelHeader(s) })
	wg.Go(func() { parts[chunks+1] = CheckRouteConflicts(s) })
	wg.Wait()
	var out []finding.Finding
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// checkObject runs the cross-resource checks of one object.
func checkObject(s *objects.Set, e *objects.Entry) []finding.Finding {
	switch {
	case e.Obj.Group() == objects.GatewayGroup && e.Obj.Kind == "HTTPRoute":
		return checkRoute(s, e)
	case e.Obj.Group() == objects.GatewayGroup && e.Obj.Kind == "Gateway":
		return checkGateway(s, e)
	case e.Obj.Group() == objects.GatewayGroup && e.Obj.Kind == "ReferenceGrant" && !e.Known:
		return checkGrant(s, e)
	case e.Obj.Group() == objects.AgentgatewayGroup && e.Obj.Kind == "AgentgatewayPolicy":
		return checkPolicy(s, e)
	case e.Obj.Group() == objects.AgentgatewayGroup && e.Obj.Kind == "AgentgatewayBackend":
		return checkBackend(s, e)
	case e.Obj.Group() == objects.InferenceGroup && e.Obj.Kind == "InferencePool" && !e.Known:
		return checkPool(s, e)
	}
	return nil
}

// resolveService checks a Service reference: the Service exists and exposes the port. The
// finding is rule's, or RuleUnresolved when the Service is not in the input.
func resolveService(s *objects.Set, e *objects.Entry, r objects.Ref, needPort bool, path, rule, prefix string) []finding.Finding {
	msg, missing := objects.ServiceProblem(s, r, needPort)
	switch {
	case msg == "":
		return nil
	case missing:
		return []finding.Finding{s.Unresolved(e, path, prefix+msg)}
	}
	return []finding.Finding{e.Obj.Finding(path, rule, finding.Error, prefix+msg)}
}

func checkGateway(s *objects.Set, e *objects.Entry) []finding.Finding {
	var out []finding.Finding
	if cls := objects.Str(objects.MapAt(e.Content, "spec"), "gatewayClassName"); cls != "" {
		if gc := s.Get(objects.GatewayGroup, "GatewayClass", "", cls); gc != nil && !gc.Known {
			ours := cmp.Or(s.ControllerName, gateway.DefaultControllerName)
			switch ctl := objects.Str(objects.MapAt(gc.Content, "spec"), "controllerName"); ctl {
			case "agentgateway.dev/agentgateway", ours:
			case "kgateway.dev/agentgateway":
				out = append(out, gc.Obj.Finding("spec.controllerName", RuleGatewayClass, finding.Error,
					"controllerName kgateway.dev/agentgateway is obsolete: agentgateway v1.x serves agentgateway.dev/agentgateway"))
			default:
				if objects.IsStandby(e) {
					// A standby gateway is on another implementation on purpose (the fallback group).
					break
				}
				out = append(out, gc.Obj.Finding("spec.controllerName", RuleGatewayClass, finding.Warning,
					fmt.Sprintf("controllerName %q is neither the dataplane's (%s) nor agentgateway's (agentgateway.dev/agentgateway): Gateway %s/%s will not be served by either", ctl, ours, e.NS(), e.Obj.Name)))
			}
		}
	}
	for i, l := range objects.ListAt(e.Content, "spec", "listeners") {
		lm, _ := l.(map[string]any)
		for j, c := range objects.ListAt(lm, "tls", "certificateRefs") {
			cm, _ := c.(map[string]any)
			r := objects.ReadRef(cm, "", "Secret", e.NS())
			path := fmt.Sprintf("spec.listeners[%d].tls.certificateRefs[%d]", i, j)
			if r.Group == "" && r.Kind == "Secret" {
				if msg := secretExists(s, r.NS, r.Name); msg != "" {
					out = append(out, s.Unresolved(e, path, msg))
				}
			}
			if r.NS != e.NS() && !objects.Granted(s, objects.GatewayGroup, "Gateway", e.NS(), r) {
				out = append(out, e.Obj.Finding(path, RuleReferenceGrant, finding.Error,
					fmt.Sprintf("certificateRef to %s crosses namespaces without a ReferenceGrant in %s from Gateway in %s", r, r.NS, e.NS())))
			}
		}
	}
	return out
}

// secretExists checks that a Secret is in the input, or produced by an object in it.
func secretExists(s *objects.Set, ns, name string) string {
	if s.Get("", "Secret", ns, name) != nil || s.SecretProducer(ns, name) != nil {
		return ""
	}
	return fmt.Sprintf("Secret %s/%s is neither in the input nor produced by an ExternalSecret, cert-manager Certificate or Gateway annotation, or SealedSecret", ns, name)
}

// secretKeys lists the keys a Secret (or the object producing it) holds; nil when unknown.
func secretKeys(s *objects.Set, ns, name string) []string {
	if sec := s.Get("", "Secret", ns, name); sec != nil {
		if sec.Stub {
			return nil
		}
		var keys []string
		for _, f := range []string{"data", "stringData"} {
			for k := range objects.MapAt(sec.Content, f) {
				keys = append(keys, k)
			}
		}
		return keys
	}
	p := s.SecretProducer(ns, name)
	switch {
	case p == nil || p.Stub:
	case p.Obj.Kind == "ExternalSecret":
		if len(objects.ListAt(p.Content, "spec", "dataFrom")) > 0 {
			return nil // keys come from the store
		}
		var keys []string
		for _, d := range objects.ListAt(p.Content, "spec", "data") {
			dm, _ := d.(map[string]any)
			keys = append(keys, objects.Str(dm, "secretKey"))
		}
		return keys
	case p.Obj.Kind == "SealedSecret":
		return sortedKeys(objects.MapAt(p.Content, "spec", "encryptedData"))
	default: // cert-manager writes a kubernetes.io/tls Secret
		return []string{"ca.crt", "tls.crt", "tls.key"}
	}
	return nil
}

// sortedKeys returns m's keys sorted, in a slice sized once.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
