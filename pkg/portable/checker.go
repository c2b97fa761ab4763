package portable

import (
	"fmt"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// implementationGroups are API groups of one implementation's own resources.
var implementationGroups = map[string]string{
	"agentgateway.dev":            "agentgateway",
	"inference.networking.k8s.io": "the Gateway API Inference Extension",
	"gateway.envoyproxy.io":       "Envoy Gateway",
	"gateway.kgateway.dev":        "kgateway",
	"networking.istio.io":         "Istio",
}

// modelHeader is the header body-based routing fills and the inference routes match on.
const modelHeader = "X-Gateway-Base-Model-Name"

type checker struct {
	ix  *objIndex
	r   *Report
	std map[string]map[string]any
	// lost collects, per primary route (ns/name), the controls it loses on the standby.
	lost map[string][]string
	// creds marks routes whose provider credentials the gateway adds.
	creds map[string]bool
}

// control is one implementation-specific thing an object provides.
type control struct {
	field, rule, what, instead string
	lost                       bool
}

func (c *checker) add(o *manifest.Object, ct control) {
	sev := finding.Info
	msg := ct.what
	if ct.lost {
		sev = finding.Warning
	}
	if ct.instead != "" {
		msg += "; standby: " + ct.instead
	}
	c.r.Items = append(c.r.Items, Item{Finding: o.Finding(ct.field, ct.rule, sev, msg), What: ct.what, Instead: ct.instead, Lost: ct.lost})
}

func (c *checker) object(o *manifest.Object) {
	g := o.Group()
	switch {
	case g == gwGroup:
		c.gatewayAPI(o)
	case g == "gateway.networking.x-k8s.io":
		c.add(o, control{rule: RuleExperimental, lost: true,
			what:    fmt.Sprintf("%s is an experimental-channel Gateway API kind", o.Kind),
			instead: "not rendered: a standard-channel controller does not serve it"})
	case implementationGroups[g] != "":
		for _, ct := range c.controls(o) {
			c.add(o, ct)
		}
	case c.isPolicyAttachment(o):
		c.add(o, control{field: "spec.targetRefs", rule: RulePolicy, lost: true,
			what:    fmt.Sprintf("policy attachment %s (%s) is implementation-specific", o.Kind, g),
			instead: "no standard equivalent"})
	}
}

// isPolicyAttachment is a resource of another API group that targets Gateway API resources.
func (c *checker) isPolicyAttachment(o *manifest.Object) bool {
	if o.Group() == "" || o.Group() == gwGroup {
		return false
	}
	for _, t := range list(o.Content, "spec", "targetRefs") {
		if str(t, "group") == gwGroup {
			return true
		}
	}
	return false
}

func (c *checker) gatewayAPI(o *manifest.Object) {
	if !standardKinds[o.Kind] {
		c.add(o, control{rule: RuleExperimental, lost: true,
			what:    fmt.Sprintf("%s is not a Gateway API standard-channel kind", o.Kind),
			instead: "not rendered: a standard-channel controller does not serve it"})
		return
	}
	if s := c.std[o.Kind+"/"+o.Version()]; s != nil {
		for _, p := range nonStandardFields(s, o.Content) {
			c.add(o, control{field: p, rule: RuleExperimental, lost: true,
				what:    fmt.Sprintf("%s is not in the Gateway API v1.6.3 standard channel (experimental or implementation-specific)", p),
				instead: "no standard equivalent"})
		}
	}
	switch o.Kind {
	case "GatewayClass":
		c.class(o)
	case "HTTPRoute":
		c.httpRoute(o)
	case "Gateway":
		c.gatewayTLS(o)
	case "BackendTLSPolicy":
		c.backendTLSPolicy(o)
	}
}

func (c *checker) class(o *manifest.Object) {
	for _, gw := range c.ix.gatewayList {
		if str(gw.Content, "spec", "gatewayClassName") == o.Name && gw.Labels()[StandbyLabel] != "" {
			return // the standby's own class
		}
	}
	ctl := str(o.Content, "spec", "controllerName")
	ct := control{field: "spec.controllerName", rule: RuleClass,
		what: fmt.Sprintf("GatewayClass %s is served by %s only", o.Name, ctl)}
	var standby []string
	for _, gw := range c.ix.gatewayList {
		if gw.Labels()[StandbyLabel] != "" {
			standby = append(standby, fmt.Sprintf("Gateway %s/%s on class %s", gw.Namespace, gw.Name, str(gw.Content, "spec", "gatewayClassName")))
		}
	}
	if len(standby) == 0 {
		ct.lost, ct.instead = true, "none: enable the fallback group for a standby Gateway"
	} else {
		ct.instead = strings.Join(standby, ", ")
	}
	c.add(o, ct)
}

func (c *checker) httpRoute(o *manifest.Object) {
	standby := c.ix.isStandbyRoute(o)
	var instead string
	lost := true
	switch {
	case standby:
		instead = "this is a standby route: it should use standard fields only"
	case c.ix.standbyOf[o.Namespace+"/"+o.Name] != nil:
		sb := c.ix.standbyOf[o.Namespace+"/"+o.Name]
		instead = fmt.Sprintf("HTTPRoute %s/%s sends it to %s", sb.Namespace, sb.Name, strings.Join(c.backendsOf(sb), ", "))
		lost = false
	default:
		instead = "the route is not served on the standby"
	}
	for i, rule := range list(o.Content, "spec", "rules") {
		for j, f := range list(rule, "filters") {
			typ := str(f, "type")
			p := fmt.Sprintf("spec.rules[%d].filters[%d]", i, j)
			switch {
			case typ == "ExtensionRef":
				c.add(o, control{field: p, rule: RuleFilter, lost: true,
					what:    fmt.Sprintf("ExtensionRef filter %s %s is an implementation's own filter", str(f, "extensionRef", "kind"), str(f, "extensionRef", "name")),
					instead: "no standard equivalent"})
			case !standardFilters[typ]:
				c.add(o, control{field: p, rule: RuleFilter, lost: true,
					what: fmt.Sprintf("filter type %s is not a standard-channel HTTPRoute filter", typ), instead: "no standard equivalent"})
			}
		}
		for j, ref := range list(rule, "backendRefs") {
			if str(ref, "group") == "" && (str(ref, "kind") == "" || str(ref, "kind") == "Service") {
				continue
			}
			c.add(o, control{field: fmt.Sprintf("spec.rules[%d].backendRefs[%d]", i, j), rule: RuleBackendRef, lost: lost,
				what:    fmt.Sprintf("backendRef to %s is served by implementations that support %s only", c.ix.describeRef(o.Namespace, ref), str(ref, "group")),
				instead: instead})
		}
		for j, m := range list(rule, "matches") {
			for k, h := range list(m, "headers") {
				if str(h, "type") == "RegularExpression" {
					c.add(o, control{field: fmt.Sprintf("spec.rules[%d].matches[%d].headers[%d].type", i, j, k), rule: RuleRegex,
						what: "RegularExpression header match: the regex dialect is implementation-specific", instead: "the same match, possibly another dialect"})
				}
			}
			if str(m, "path", "type") == "RegularExpression" {
				c.add(o, control{field: fmt.Sprintf("spec.rules[%d].matches[%d].path.type", i, j), rule: RuleRegex,
					what: "RegularExpression path match: the regex dialect is implementation-specific", instead: "the same match, possibly another dialect"})
			}
		}
	}
}

// backendsOf are a route's backendRefs, described, once each.
func (c *checker) backendsOf(rt *manifest.Object) []string {
	seen := map[string]bool{}
	var out []string
	for _, rule := range list(rt.Content, "spec", "rules") {
		for _, ref := range list(rule, "backendRefs") {
			d := c.ix.describeRef(rt.Namespace, ref)
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// referrers are the primary routes with a backendRef to kind ns/name.
func (c *checker) referrers(kind, ns, name string) []*manifest.Object {
	var out []*manifest.Object
	for _, rt := range c.ix.routes {
		if c.ix.isStandbyRoute(rt) {
			continue
		}
	refs:
		for _, rule := range list(rt.Content, "spec", "rules") {
			for _, ref := range list(rule, "backendRefs") {
				rns := str(ref, "namespace")
				if rns == "" {
					rns = rt.Namespace
				}
				if str(ref, "kind") == kind && str(ref, "name") == name && rns == ns {
					out = append(out, rt)
					break refs
				}
			}
		}
	}
	return out
}
