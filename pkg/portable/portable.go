// Package portable reports what in a rendered platform is specific to one Gateway API
// implementation (agentgateway CRDs and policy attachments, InferencePool backendRefs,
// ExtensionRef and non-standard filters, experimental-channel fields) and so would not carry
// over to another implementation, and what the platform's standby gateway does instead.
package portable

import (
	"fmt"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// Rule ids of the portability report.
const (
	RuleCRD          = "portable.crd"          // an implementation's own resource
	RulePolicy       = "portable.policy"       // a policy attachment section
	RuleBackendRef   = "portable.backendref"   // a route backendRef to a non-Service backend
	RuleFilter       = "portable.filter"       // an ExtensionRef or non-standard route filter
	RuleExperimental = "portable.experimental" // a field or kind outside the standard channel
	RuleClass        = "portable.class"        // a GatewayClass or Gateway bound to one implementation
	RuleStandby      = "portable.standby"      // whether a route has a standby route
	RuleRegex        = "portable.regex"        // a RegularExpression match (implementation-specific dialect)
)

// StandbyLabel marks a standby object: on a Gateway it names the primary Gateway, on an
// HTTPRoute the primary HTTPRoute (same namespace) it stands in for.
const StandbyLabel = "gwctl.infergw.dev/standby-for"

// Item is one implementation-specific resource or field.
type Item struct {
	Finding finding.Finding `json:"finding"`
	// What is specific to the implementation; Instead is what the standby does in its place.
	What    string `json:"what"`
	Instead string `json:"instead"`
	// Lost is true when the standby has no equivalent: the control is gone after a switch.
	Lost bool `json:"lost"`
}

// Gateway is a Gateway and the implementation serving it.
type Gateway struct {
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Class      string `json:"class"`
	Controller string `json:"controller"`
	Port       int64  `json:"port"`
}

// Workload is a Deployment, StatefulSet or DaemonSet.
type Workload struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Probe is one request that exercises a standby route rule.
type Probe struct {
	Path    string      `json:"path"`
	Headers [][2]string `json:"headers,omitempty"`
}

// Route is a primary HTTPRoute and where it goes on a switch to the standby.
type Route struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Backends are the primary rule backends; StandbyBackends those of the standby route.
	Backends        []string `json:"backends"`
	StandbyBackends []string `json:"standbyBackends,omitempty"`
	// Standby is the standby HTTPRoute's name, "" when the route is not carried over.
	Standby string  `json:"standby,omitempty"`
	Probes  []Probe `json:"probes,omitempty"`
	// Lost are the controls that apply to this route on the primary and not on the standby.
	Lost []string `json:"lost,omitempty"`
	// StandbyWorkloads run the standby route's Service backends (e.g. the egress forwarder).
	StandbyWorkloads []Workload `json:"standbyWorkloads,omitempty"`
	// ClientCredentials is true when the primary adds provider credentials the standby cannot:
	// clients must send their own on the standby.
	ClientCredentials bool `json:"clientCredentials,omitempty"`
}

// Report is the whole portability report of a render.
type Report struct {
	Primary []Gateway `json:"primary"`
	Standby []Gateway `json:"standby"`
	Routes  []Route   `json:"routes"`
	Items   []Item    `json:"items"`
}

// Findings are the report's items as findings, sorted by position.
func (r *Report) Findings() []finding.Finding {
	out := make([]finding.Finding, 0, len(r.Items))
	for _, it := range r.Items {
		out = append(out, it.Finding)
	}
	finding.Sort(out)
	return out
}

// Lost is every control the standby loses, once each, in report order.
func (r *Report) Lost() []string {
	seen := map[string]bool{}
	var out []string
	for _, rt := range r.Routes {
		for _, l := range rt.Lost {
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	return out
}

// HasStandby reports whether the render has a standby Gateway with at least one route
// attached: the gwctl side of the fallback control.
func HasStandby(objs []*manifest.Object) bool {
	ix := index(objs)
	for _, rt := range ix.routes {
		if ix.isStandbyRoute(rt) {
			return true
		}
	}
	return false
}

// Check builds the portability report of a render.
func Check(objs []*manifest.Object) (*Report, error) {
	std, err := channelSchemas()
	if err != nil {
		return nil, fmt.Errorf("portability report: loading the standard-channel schemas: %w", err)
	}
	ix := index(objs)
	r := &Report{}
	c := &checker{ix: ix, r: r, std: std, lost: map[string][]string{}, creds: map[string]bool{}}
	for _, o := range objs {
		c.object(o)
	}
	for _, gw := range ix.gatewayList {
		g := Gateway{Namespace: gw.Namespace, Name: gw.Name, Class: str(gw.Content, "spec", "gatewayClassName")}
		if cl := ix.classes[g.Class]; cl != nil {
			g.Controller = str(cl.Content, "spec", "controllerName")
		}
		if ls := list(gw.Content, "spec", "listeners"); len(ls) > 0 {
			g.Port, _ = get(ls[0], "port").(int64)
		}
		if gw.Labels()[StandbyLabel] != "" {
			r.Standby = append(r.Standby, g)
		} else {
			r.Primary = append(r.Primary, g)
		}
	}
	for _, rt := range ix.routes {
		if !ix.isStandbyRoute(rt) {
			r.Routes = append(r.Routes, c.route(rt))
		}
	}
	return r, nil
}

// ---- index of the render ----

type objIndex struct {
	gateways    map[string]*manifest.Object // ns/name
	gatewayList []*manifest.Object
	classes     map[string]*manifest.Object
	routes      []*manifest.Object
	services    map[string]*manifest.Object
	standbyOf   map[string]*manifest.Object // primary route ns/name -> standby route
	workloads   []*manifest.Object          // Deployments, StatefulSets, DaemonSets
}

func index(objs []*manifest.Object) *objIndex {
	ix := &objIndex{gateways: map[string]*manifest.Object{}, classes: map[string]*manifest.Object{},
		services: map[string]*manifest.Object{}, standbyOf: map[string]*manifest.Object{}}
	for _, o := range objs {
		switch {
		case o.Group() == gwGroup && o.Kind == "Gateway":
			ix.gateways[o.Namespace+"/"+o.Name] = o
			ix.gatewayList = append(ix.gatewayList, o)
		case o.Group() == gwGroup && o.Kind == "GatewayClass":
			ix.classes[o.Name] = o
		case o.Group() == gwGroup && o.Kind == "HTTPRoute":
			ix.routes = append(ix.routes, o)
		case o.Group() == "" && o.Kind == "Service":
			ix.services[o.Namespace+"/"+o.Name] = o
		case o.Group() == "apps" && (o.Kind == "Deployment" || o.Kind == "StatefulSet" || o.Kind == "DaemonSet"):
			ix.workloads = append(ix.workloads, o)
		}
	}
	for _, rt := range ix.routes {
		if p := rt.Labels()[StandbyLabel]; p != "" && ix.isStandbyRoute(rt) {
			ix.standbyOf[rt.Namespace+"/"+p] = rt
		}
	}
	return ix
}

const gwGroup = "gateway.networking.k8s.io"

// parents are the Gateways (ns/name) a route attaches to.
func (ix *objIndex) parents(rt *manifest.Object) []string {
	var out []string
	for _, p := range list(rt.Content, "spec", "parentRefs") {
		if k, _ := get(p, "kind").(string); k != "" && k != "Gateway" {
			continue
		}
		ns, _ := get(p, "namespace").(string)
		if ns == "" {
			ns = rt.Namespace
		}
		name, _ := get(p, "name").(string)
		out = append(out, ns+"/"+name)
	}
	return out
}

// workloadsOf are the workloads in a Service's namespace whose pod labels its selector matches.
func (ix *objIndex) workloadsOf(svc *manifest.Object) []*manifest.Object {
	sel, _ := get(svc.Content, "spec", "selector").(map[string]any)
	if len(sel) == 0 {
		return nil
	}
	var out []*manifest.Object
	for _, w := range ix.workloads {
		if w.Namespace != svc.Namespace {
			continue
		}
		labels, _ := get(w.Content, "spec", "template", "metadata", "labels").(map[string]any)
		match := true
		for k, v := range sel {
			if labels[k] != v {
				match = false
				break
			}
		}
		if match {
			out = append(out, w)
		}
	}
	return out
}

func (ix *objIndex) isStandbyRoute(rt *manifest.Object) bool {
	for _, p := range ix.parents(rt) {
		if gw := ix.gateways[p]; gw != nil && gw.Labels()[StandbyLabel] != "" {
			return true
		}
	}
	return false
}

// describeRef names a backendRef, with where a Service leads.
func (ix *objIndex) describeRef(ns string, ref any) string {
	group, _ := get(ref, "group").(string)
	kind, _ := get(ref, "kind").(string)
	if kind == "" {
		kind = "Service"
	}
	name, _ := get(ref, "name").(string)
	if n, _ := get(ref, "namespace").(string); n != "" {
		ns = n
	}
	if group == "" && kind == "Service" {
		port, _ := get(ref, "port").(int64)
		s := fmt.Sprintf("Service %s/%s:%d", ns, name, port)
		if svc := ix.services[ns+"/"+name]; svc != nil && str(svc.Content, "spec", "type") == "ExternalName" {
			s += " (ExternalName " + str(svc.Content, "spec", "externalName") + ")"
		}
		return s
	}
	return fmt.Sprintf("%s %s/%s", kind, ns, name)
}

// ---- small accessors over decoded JSON ----

func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := get(v, keys...).(string)
	return s
}

func list(v any, keys ...string) []any {
	l, _ := get(v, keys...).([]any)
	return l
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}
