package objects

import (
	"fmt"

	"github.com/infergw/gwctl/pkg/finding"
)

// RuleUnresolved marks a reference to an object that is neither in the input nor known
// (Options.Known): an error in a closed world (a render), a warning in an open one.
const RuleUnresolved = "refs/unresolved"

const (
	GatewayGroup   = "gateway.networking.k8s.io"
	InferenceGroup = "inference.networking.k8s.io"
	// ModelHeader is the Inference Extension's body-based-routing header.
	ModelHeader = "X-Gateway-Base-Model-Name"
)

// ref is an object reference with Gateway API defaults applied.
type Ref struct {
	Group, Kind, NS, Name, Section string
	Port                           int64
	HasPort                        bool
}

func ReadRef(m map[string]any, defGroup, defKind, defNS string) Ref {
	r := Ref{Group: defGroup, Kind: defKind, NS: defNS, Name: Str(m, "name"), Section: Str(m, "sectionName")}
	if g, ok := m["group"].(string); ok {
		r.Group = g
	}
	if k, ok := m["kind"].(string); ok && k != "" {
		r.Kind = k
	}
	if n, ok := m["namespace"].(string); ok && n != "" {
		r.NS = n
	}
	r.Port, r.HasPort = Num(m, "port")
	return r
}

func (r Ref) String() string {
	k := r.Kind
	if r.Group != "" {
		k = r.Kind + "." + r.Group
	}
	return fmt.Sprintf("%s %s/%s", k, r.NS, r.Name)
}

// servicePort reports whether a Service exposes port.
func servicePort(svc *Entry, port int64) bool {
	for _, p := range ListAt(svc.Content, "spec", "ports") {
		pm, _ := p.(map[string]any)
		if n, ok := Num(pm, "port"); ok && n == port {
			return true
		}
	}
	return false
}

// unresolved is the finding for a reference to an object that is not in the input.
func (s *Set) Unresolved(e *Entry, path, msg string) finding.Finding {
	sev := finding.Error
	if s.Open {
		sev = finding.Warning
	}
	return e.Obj.Finding(path, RuleUnresolved, sev, msg)
}

// serviceProblem says what is wrong with a Service reference ("" when it resolves) and
// whether it is that the Service is not in the input.
func ServiceProblem(s *Set, r Ref, needPort bool) (msg string, missing bool) {
	svc := s.Get("", "Service", r.NS, r.Name)
	switch {
	case svc == nil:
		return fmt.Sprintf("Service %s/%s not found in the input", r.NS, r.Name), true
	case needPort && !r.HasPort:
		return fmt.Sprintf("Service %s/%s is referenced without a port", r.NS, r.Name), false
	case r.HasPort && !svc.Stub && !servicePort(svc, r.Port):
		return fmt.Sprintf("Service %s/%s has no port %d", r.NS, r.Name, r.Port), false
	}
	return "", false
}

// granted reports whether a ReferenceGrant in the target's namespace lets from reach to.
func Granted(s *Set, fromGroup, fromKind, fromNS string, to Ref) bool {
	for _, g := range s.Kind(GatewayGroup, "ReferenceGrant") {
		if g.NS() != to.NS {
			continue
		}
		okFrom := false
		for _, f := range ListAt(g.Content, "spec", "from") {
			fm, _ := f.(map[string]any)
			if Str(fm, "group") == fromGroup && Str(fm, "kind") == fromKind && Str(fm, "namespace") == fromNS {
				okFrom = true
			}
		}
		if !okFrom {
			continue
		}
		for _, t := range ListAt(g.Content, "spec", "to") {
			tm, _ := t.(map[string]any)
			if Str(tm, "group") == to.Group && Str(tm, "kind") == to.Kind && (Str(tm, "name") == "" || Str(tm, "name") == to.Name) {
				return true
			}
		}
	}
	return false
}

// StandbyLabel marks a standby Gateway and its routes (rendered by the fallback group): they are
// served by another Gateway API implementation, so agentgateway-only checks do not apply.
const StandbyLabel = "gwctl.infergw.dev/standby-for"

func IsStandby(e *Entry) bool {
	labels, _ := MapAt(e.Content, "metadata", "labels")[StandbyLabel].(string)
	return labels != ""
}

// targets reports whether policy p targets object t by reference or selector.
func Targets(s *Set, p, t *Entry) bool {
	if p.NS() != t.NS() {
		return false
	}
	for _, r := range ListAt(p.Content, "spec", "targetRefs") {
		rm, _ := r.(map[string]any)
		if Str(rm, "kind") == t.Obj.Kind && Str(rm, "group") == t.Obj.Group() && Str(rm, "name") == t.Obj.Name {
			return true
		}
	}
	for _, r := range ListAt(p.Content, "spec", "targetSelectors") {
		rm, _ := r.(map[string]any)
		if Str(rm, "kind") == t.Obj.Kind && Str(rm, "group") == t.Obj.Group() && SelectorMatches(map[string]any{"matchLabels": rm["matchLabels"]}, t.Obj.Labels()) {
			return true
		}
	}
	return false
}

// selectorMatches evaluates a metav1.LabelSelector (matchLabels and matchExpressions).
func SelectorMatches(sel map[string]any, labels map[string]string) bool {
	if sel == nil {
		return false
	}
	for k, v := range MapAt(sel, "matchLabels") {
		if vs, _ := v.(string); labels[k] != vs {
			return false
		}
	}
	for _, x := range ListAt(sel, "matchExpressions") {
		xm, _ := x.(map[string]any)
		key := Str(xm, "key")
		val, present := labels[key]
		in := false
		for _, v := range ListAt(xm, "values") {
			if vs, _ := v.(string); present && vs == val {
				in = true
			}
		}
		switch Str(xm, "operator") {
		case "In":
			if !in {
				return false
			}
		case "NotIn":
			if in {
				return false
			}
		case "Exists":
			if !present {
				return false
			}
		case "DoesNotExist":
			if present {
				return false
			}
		}
	}
	return true
}

// policyGateways are the Gateways a policy's targets attach to (directly or through routes).
func PolicyGateways(s *Set, e *Entry) []*Entry {
	var out []*Entry
	for _, t := range ListAt(e.Content, "spec", "targetRefs") {
		tm, _ := t.(map[string]any)
		switch Str(tm, "kind") {
		case "Gateway":
			if gw := s.Get(GatewayGroup, "Gateway", e.NS(), Str(tm, "name")); gw != nil {
				out = append(out, gw)
			}
		case "HTTPRoute":
			if rt := s.Get(GatewayGroup, "HTTPRoute", e.NS(), Str(tm, "name")); rt != nil {
				out = append(out, RouteGateways(s, rt)...)
			}
		}
	}
	return out
}

func RouteGateways(s *Set, rt *Entry) []*Entry {
	var out []*Entry
	for _, p := range ListAt(rt.Content, "spec", "parentRefs") {
		pm, _ := p.(map[string]any)
		r := ReadRef(pm, GatewayGroup, "Gateway", rt.NS())
		if gw := s.Get(GatewayGroup, "Gateway", r.NS, r.Name); gw != nil && r.Kind == "Gateway" {
			out = append(out, gw)
		}
	}
	return out
}

// gatewayReplicas reads replicas from the Gateway's AgentgatewayParameters or its Deployment.
func GatewayReplicas(s *Set, gw *Entry) int {
	if pr := MapAt(gw.Content, "spec", "infrastructure", "parametersRef"); pr != nil && Str(pr, "kind") == "AgentgatewayParameters" {
		if p := s.Get(AgentgatewayGroup, "AgentgatewayParameters", gw.NS(), Str(pr, "name")); p != nil {
			if n, ok := Num(MapAt(p.Content, "spec", "deployment", "spec"), "replicas"); ok {
				return int(n)
			}
			if hpa := MapAt(p.Content, "spec", "horizontalPodAutoscaler", "spec"); hpa != nil {
				n, _ := Num(hpa, "maxReplicas")
				return int(n)
			}
		}
	}
	for _, d := range s.Kind("apps", "Deployment") {
		if d.NS() == gw.NS() && (d.Obj.Name == gw.Obj.Name || d.Obj.Labels()["gateway.networking.k8s.io/gateway-name"] == gw.Obj.Name) {
			if n, ok := Num(MapAt(d.Content, "spec"), "replicas"); ok {
				return int(n)
			}
		}
	}
	return 0
}

const AgentgatewayGroup = "agentgateway.dev"
