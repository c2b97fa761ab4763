package validate

import (
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
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
	// RuleUnresolved marks a reference to an object that is neither in the input nor known
	// (Options.Known): an error in a closed world (a render), a warning in an open one.
	RuleUnresolved = "refs/unresolved"
)

const (
	gatewayGroup   = "gateway.networking.k8s.io"
	inferenceGroup = "inference.networking.k8s.io"
	// ModelHeader is the Inference Extension's body-based-routing header.
	ModelHeader = "X-Gateway-Base-Model-Name"
)

// crossResource runs the checks that need the whole input.
func crossResource(s *objectSet) []finding.Finding {
	// The per-object checks only read the set: chunks of it run side by side, in input order.
	chunks := runtime.GOMAXPROCS(0) * 2
	size := (len(s.all) + chunks - 1) / chunks
	parts := make([][]finding.Finding, chunks+2)
	var wg sync.WaitGroup
	for c := 0; c < chunks && c*size < len(s.all); c++ {
		wg.Go(func() {
			var out []finding.Finding
			for _, e := range s.all[c*size : min((c+1)*size, len(s.all))] {
				out = append(out, checkObject(s, e)...)
			}
			parts[c] = out
		})
	}
	wg.Go(func() { parts[chunks] = checkModelHeader(s) })
	wg.Go(func() { parts[chunks+1] = checkRouteConflicts(s) })
	wg.Wait()
	var out []finding.Finding
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// checkObject runs the cross-resource checks of one object.
func checkObject(s *objectSet, e *entry) []finding.Finding {
	switch {
	case e.obj.Group() == gatewayGroup && e.obj.Kind == "HTTPRoute":
		return checkRoute(s, e)
	case e.obj.Group() == gatewayGroup && e.obj.Kind == "Gateway":
		return checkGateway(s, e)
	case e.obj.Group() == gatewayGroup && e.obj.Kind == "ReferenceGrant" && !e.known:
		return checkGrant(s, e)
	case e.obj.Group() == agentgatewayGroup && e.obj.Kind == "AgentgatewayPolicy":
		return checkPolicy(s, e)
	case e.obj.Group() == agentgatewayGroup && e.obj.Kind == "AgentgatewayBackend":
		return checkBackend(s, e)
	}
	return nil
}

// ref is an object reference with Gateway API defaults applied.
type ref struct {
	group, kind, ns, name, section string
	port                           int64
	hasPort                        bool
}

func readRef(m map[string]any, defGroup, defKind, defNS string) ref {
	r := ref{group: defGroup, kind: defKind, ns: defNS, name: str(m, "name"), section: str(m, "sectionName")}
	if g, ok := m["group"].(string); ok {
		r.group = g
	}
	if k, ok := m["kind"].(string); ok && k != "" {
		r.kind = k
	}
	if n, ok := m["namespace"].(string); ok && n != "" {
		r.ns = n
	}
	r.port, r.hasPort = num(m, "port")
	return r
}

func (r ref) String() string {
	k := r.kind
	if r.group != "" {
		k = r.kind + "." + r.group
	}
	return fmt.Sprintf("%s %s/%s", k, r.ns, r.name)
}

// servicePort reports whether a Service exposes port.
func servicePort(svc *entry, port int64) bool {
	for _, p := range listAt(svc.content, "spec", "ports") {
		pm, _ := p.(map[string]any)
		if n, ok := num(pm, "port"); ok && n == port {
			return true
		}
	}
	return false
}

// unresolved is the finding for a reference to an object that is not in the input.
func (s *objectSet) unresolved(e *entry, path, msg string) finding.Finding {
	sev := finding.Error
	if s.open {
		sev = finding.Warning
	}
	return e.obj.Finding(path, RuleUnresolved, sev, msg)
}

// serviceProblem says what is wrong with a Service reference ("" when it resolves) and
// whether it is that the Service is not in the input.
func serviceProblem(s *objectSet, r ref, needPort bool) (msg string, missing bool) {
	svc := s.get("", "Service", r.ns, r.name)
	switch {
	case svc == nil:
		return fmt.Sprintf("Service %s/%s not found in the input", r.ns, r.name), true
	case needPort && !r.hasPort:
		return fmt.Sprintf("Service %s/%s is referenced without a port", r.ns, r.name), false
	case r.hasPort && !svc.stub && !servicePort(svc, r.port):
		return fmt.Sprintf("Service %s/%s has no port %d", r.ns, r.name, r.port), false
	}
	return "", false
}

// resolveService checks a Service reference: the Service exists and exposes the port. The
// finding is rule's, or RuleUnresolved when the Service is not in the input.
func resolveService(s *objectSet, e *entry, r ref, needPort bool, path, rule, prefix string) []finding.Finding {
	msg, missing := serviceProblem(s, r, needPort)
	switch {
	case msg == "":
		return nil
	case missing:
		return []finding.Finding{s.unresolved(e, path, prefix+msg)}
	}
	return []finding.Finding{e.obj.Finding(path, rule, finding.Error, prefix+msg)}
}

// granted reports whether a ReferenceGrant in the target's namespace lets from reach to.
func granted(s *objectSet, fromGroup, fromKind, fromNS string, to ref) bool {
	for _, g := range s.kind(gatewayGroup, "ReferenceGrant") {
		if g.ns() != to.ns {
			continue
		}
		okFrom := false
		for _, f := range listAt(g.content, "spec", "from") {
			fm, _ := f.(map[string]any)
			if str(fm, "group") == fromGroup && str(fm, "kind") == fromKind && str(fm, "namespace") == fromNS {
				okFrom = true
			}
		}
		if !okFrom {
			continue
		}
		for _, t := range listAt(g.content, "spec", "to") {
			tm, _ := t.(map[string]any)
			if str(tm, "group") == to.group && str(tm, "kind") == to.kind && (str(tm, "name") == "" || str(tm, "name") == to.name) {
				return true
			}
		}
	}
	return false
}

func checkGateway(s *objectSet, e *entry) []finding.Finding {
	var out []finding.Finding
	if cls := str(mapAt(e.content, "spec"), "gatewayClassName"); cls != "" {
		if gc := s.get(gatewayGroup, "GatewayClass", "", cls); gc != nil && !gc.known {
			switch ctl := str(mapAt(gc.content, "spec"), "controllerName"); ctl {
			case "agentgateway.dev/agentgateway", gateway.DefaultControllerName:
			case "kgateway.dev/agentgateway":
				out = append(out, gc.obj.Finding("spec.controllerName", RuleGatewayClass, finding.Error,
					"controllerName kgateway.dev/agentgateway is obsolete: agentgateway v1.x serves agentgateway.dev/agentgateway"))
			default:
				if isStandby(e) {
					// A standby gateway is on another implementation on purpose (the fallback group).
					break
				}
				out = append(out, gc.obj.Finding("spec.controllerName", RuleGatewayClass, finding.Warning,
					fmt.Sprintf("controllerName %q is neither the dataplane's (%s) nor agentgateway's (agentgateway.dev/agentgateway): Gateway %s/%s will not be served by either", ctl, gateway.DefaultControllerName, e.ns(), e.obj.Name)))
			}
		}
	}
	for i, l := range listAt(e.content, "spec", "listeners") {
		lm, _ := l.(map[string]any)
		for j, c := range listAt(lm, "tls", "certificateRefs") {
			cm, _ := c.(map[string]any)
			r := readRef(cm, "", "Secret", e.ns())
			path := fmt.Sprintf("spec.listeners[%d].tls.certificateRefs[%d]", i, j)
			if r.group == "" && r.kind == "Secret" {
				if msg := secretExists(s, r.ns, r.name); msg != "" {
					out = append(out, s.unresolved(e, path, msg))
				}
			}
			if r.ns != e.ns() && !granted(s, gatewayGroup, "Gateway", e.ns(), r) {
				out = append(out, e.obj.Finding(path, RuleReferenceGrant, finding.Error,
					fmt.Sprintf("certificateRef to %s crosses namespaces without a ReferenceGrant in %s from Gateway in %s", r, r.ns, e.ns())))
			}
		}
	}
	return out
}

// secretExists checks that a Secret is in the input, or produced by an object in it.
func secretExists(s *objectSet, ns, name string) string {
	if s.get("", "Secret", ns, name) != nil || s.secretProducer(ns, name) != nil {
		return ""
	}
	return fmt.Sprintf("Secret %s/%s is neither in the input nor produced by an ExternalSecret, cert-manager Certificate or Gateway annotation, or SealedSecret", ns, name)
}

// secretKeys lists the keys a Secret (or the object producing it) holds; nil when unknown.
func secretKeys(s *objectSet, ns, name string) []string {
	if sec := s.get("", "Secret", ns, name); sec != nil {
		if sec.stub {
			return nil
		}
		var keys []string
		for _, f := range []string{"data", "stringData"} {
			for k := range mapAt(sec.content, f) {
				keys = append(keys, k)
			}
		}
		return keys
	}
	p := s.secretProducer(ns, name)
	switch {
	case p == nil || p.stub:
	case p.obj.Kind == "ExternalSecret":
		if len(listAt(p.content, "spec", "dataFrom")) > 0 {
			return nil // keys come from the store
		}
		var keys []string
		for _, d := range listAt(p.content, "spec", "data") {
			dm, _ := d.(map[string]any)
			keys = append(keys, str(dm, "secretKey"))
		}
		return keys
	case p.obj.Kind == "SealedSecret":
		return sortedKeys(mapAt(p.content, "spec", "encryptedData"))
	default: // cert-manager writes a kubernetes.io/tls Secret
		return []string{"ca.crt", "tls.crt", "tls.key"}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// StandbyLabel marks a standby Gateway and its routes (rendered by the fallback group): they are
// served by another Gateway API implementation, so agentgateway-only checks do not apply.
const StandbyLabel = "gwctl.infergw.dev/standby-for"

func isStandby(e *entry) bool {
	labels, _ := mapAt(e.content, "metadata", "labels")[StandbyLabel].(string)
	return labels != ""
}
