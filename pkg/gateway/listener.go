package gateway

import (
	"github.com/infergw/gwctl/pkg/manifest"
)

// allowed is a listener's allowedRoutes, kept while compiling.
type allowed struct {
	from     string            // Same (default), All, Selector
	selector map[string]string // namespace labels for Selector
	kinds    []string          // allowed route kinds; empty = HTTPRoute
}

type listenerSrc struct {
	*Listener
	allowed allowed
	obj     *manifest.Object
	path    string
	outcome *ListenerOutcome
}

func (c *compiler) compileGateway(o *manifest.Object) {
	f := root(c, o)
	gw := NamespacedName{Namespace: ns(o), Name: o.Name}
	c.outcomeOf(gw)
	fv := c.compileGatewayTLS(gw, f.at("spec", "tls"))
	defer c.applyFrontendValidation(gw, fv)
	for _, lf := range f.at("spec", "listeners").list() {
		l := &Listener{
			Gateway:  gw,
			Name:     lf.get("name").str(),
			Port:     lf.get("port").port(),
			Protocol: lf.get("protocol").str(),
			Hostname: lower(lf.get("hostname").str()),
		}
		resolved := Condition{OK: true}
		switch l.Protocol {
		case "HTTP":
		case "HTTPS":
			var ok bool
			if ok, resolved = c.compileListenerTLS(gw, lf, l); !ok {
				continue
			}
		default:
			lf.get("protocol").warnf(ruleUnsupported,
				"protocol %q is not served by the dataplane (HTTP and HTTPS only): listener %q is ignored", l.Protocol, l.Name)
			lo := c.listenerOutcome(gw, l.Name, l.Port, l.Hostname, Condition{Reason: "UnsupportedProtocol",
				Message: "protocol " + l.Protocol + " is not served by the dataplane (HTTP and HTTPS only)"}, nil)
			lo.SupportedKinds = []string{}
			continue
		}
		a := allowed{from: lf.at("allowedRoutes", "namespaces", "from").strOr("Same")}
		if a.from == "Selector" {
			a.selector = lf.at("allowedRoutes", "namespaces", "selector", "matchLabels").stringMap()
			if lf.at("allowedRoutes", "namespaces", "selector", "matchExpressions").exists() {
				lf.at("allowedRoutes", "namespaces", "selector", "matchExpressions").warnf(ruleUnsupported,
					"matchExpressions are not evaluated by the dataplane; only matchLabels are")
			}
		}
		var kinds []string // group/kind, for status
		for _, k := range lf.at("allowedRoutes", "kinds").list() {
			g := k.get("group").strOr(GroupGateway)
			if g == GroupGateway {
				a.kinds = append(a.kinds, k.get("kind").str())
			}
			kinds = append(kinds, g+"/"+k.get("kind").str())
		}
		if len(kinds) > 0 && len(a.kinds) == 0 {
			a.kinds = []string{""} // only other groups' kinds: no HTTPRoute
		}
		src := &listenerSrc{Listener: l, allowed: a, obj: o, path: lf.path,
			outcome: c.listenerOutcome(gw, l.Name, l.Port, l.Hostname, Condition{OK: true, Reason: "Accepted"}, kinds)}
		if !resolved.OK && src.outcome.ResolvedRefs.OK {
			src.outcome.ResolvedRefs = resolved
		}
		c.cfg.Listeners = append(c.cfg.Listeners, l)
		c.listeners[gw.String()] = append(c.listeners[gw.String()], l)
		c.listenerSrc[l] = src
	}
}

// admits reports whether the listener accepts an HTTPRoute from namespace routeNS.
func (c *compiler) admits(ls *listenerSrc, routeNS string) (bool, string) {
	if len(ls.allowed.kinds) > 0 {
		ok := false
		for _, k := range ls.allowed.kinds {
			if k == "HTTPRoute" {
				ok = true
			}
		}
		if !ok {
			return false, "listener " + ls.Name + " does not allow HTTPRoute (allowedRoutes.kinds)"
		}
	}
	switch ls.allowed.from {
	case "All":
		return true, ""
	case "Same", "":
		if routeNS == ls.Gateway.Namespace {
			return true, ""
		}
		return false, "listener " + ls.Name + " only admits routes from namespace " + ls.Gateway.Namespace + " (allowedRoutes.namespaces.from: Same)"
	case "Selector":
		nsObj := c.lookup(GroupCore, "Namespace", "", routeNS)
		if nsObj == nil {
			return false, "listener " + ls.Name + " selects route namespaces by label, and Namespace " + routeNS + " is not in the input"
		}
		labels := nsObj.Labels()
		for k, v := range ls.allowed.selector {
			if labels[k] != v {
				return false, "namespace " + routeNS + " does not match listener " + ls.Name + "'s allowedRoutes selector"
			}
		}
		return true, ""
	}
	return false, "listener " + ls.Name + " has unknown allowedRoutes.namespaces.from " + ls.allowed.from
}
