package gateway

import (
	"net/textproto"
	"time"

	"github.com/infergw/gwctl/pkg/manifest"
)

func (c *compiler) compileRoute(o *manifest.Object) {
	f := root(c, o)
	r := &Route{NamespacedName: NamespacedName{Namespace: ns(o), Name: o.Name}, Created: created(o)}
	hostnames := f.at("spec", "hostnames").strings()
	for i := range hostnames {
		hostnames[i] = lower(hostnames[i])
	}
	for _, pf := range f.at("spec", "parentRefs").list() {
		r.Attachments = append(r.Attachments, c.attach(r, pf, hostnames)...)
	}
	counted := map[*Listener]bool{}
	for _, a := range r.Attachments {
		if !counted[a.Listener] {
			counted[a.Listener] = true
			c.listenerSrc[a.Listener].outcome.AttachedRoutes++
		}
	}
	if len(r.Attachments) == 0 {
		if len(f.at("spec", "parentRefs").list()) == 0 {
			f.at("spec", "parentRefs").warnf(ruleParentRef, "route has no parentRefs: the dataplane does not serve it")
		}
		return
	}
	for i, rf := range f.at("spec", "rules").list() {
		r.Rules = append(r.Rules, c.compileRule(r, i, rf))
	}
	if !f.at("spec", "rules").exists() {
		// The CRD default: one rule matching every path, without backends (answered with 500).
		r.Rules = []*Rule{{Matches: []Match{{Path: PathMatch{Type: PathPrefix, Value: "/"}}}}}
	}
	c.cfg.Routes = append(c.cfg.Routes, r)
	c.routeByKey[r.ID()] = r
	c.routeObj[r] = o
}

// attach resolves one parentRef to the listeners it attaches to; every failure is a finding.
func (c *compiler) attach(r *Route, pf field, hostnames []string) []Attachment {
	group := pf.get("group").strOr(GroupGateway)
	kind := pf.get("kind").strOr("Gateway")
	if group != GroupGateway || kind != "Gateway" {
		pf.get("kind").errorf(ruleParentRef, "parentRef kind %s/%s is not served by the dataplane (only Gateway)", group, kind)
		return nil
	}
	gw := NamespacedName{Namespace: pf.get("namespace").strOr(r.Namespace), Name: pf.get("name").str()}
	if c.foreignGateway(gw) {
		return nil
	}
	if c.lookup(GroupGateway, "Gateway", gw.Namespace, gw.Name) == nil {
		pf.get("name").errorf(ruleParentRef, "parentRef to Gateway %s, which is not in the input", gw)
		return nil
	}
	section := pf.get("sectionName").str()
	port := pf.get("port").port()
	var out []Attachment
	var reasons []string
	found, notAllowed := false, false
	for _, l := range c.listeners[gw.String()] {
		if section != "" && l.Name != section {
			continue
		}
		if port != 0 && l.Port != port {
			continue
		}
		found = true
		if ok, why := c.admits(c.listenerSrc[l], r.Namespace); !ok {
			reasons = append(reasons, why)
			notAllowed = true
			continue
		}
		hs := intersectHostnames(l.Hostname, hostnames)
		if len(hs) == 0 {
			reasons = append(reasons, "no route hostname matches listener "+l.Name+" hostname "+l.Hostname)
			continue
		}
		out = append(out, Attachment{Listener: l, Hostnames: hs})
	}
	c.parentOutcome(r, pf, gw, parentCondition(found, section, port, out, notAllowed, reasons))
	switch {
	case !found && section != "":
		pf.get("sectionName").errorf(ruleParentRef, "Gateway %s has no HTTP listener named %q", gw, section)
	case !found && port != 0:
		pf.get("port").errorf(ruleParentRef, "Gateway %s has no HTTP listener on port %d", gw, port)
	case !found:
		pf.errorf(ruleParentRef, "Gateway %s has no HTTP listener", gw)
	case len(out) == 0:
		msg := "route is not accepted by Gateway " + gw.String() + ": "
		for i, s := range reasons {
			if i > 0 {
				msg += "; "
			}
			msg += s
		}
		pf.errorf(ruleParentRef, "%s", msg)
	}
	return out
}

// parentCondition is a parentRef's Accepted condition with the spec's reason.
func parentCondition(found bool, section string, port int32, out []Attachment, notAllowed bool, reasons []string) Condition {
	msg := ""
	for i, s := range reasons {
		if i > 0 {
			msg += "; "
		}
		msg += s
	}
	switch {
	case len(out) > 0:
		return Condition{OK: true, Reason: "Accepted", Message: "Route is accepted"}
	case !found && section != "":
		return Condition{Reason: "NoMatchingParent", Message: "the Gateway has no HTTP listener named " + section}
	case !found && port != 0:
		return Condition{Reason: "NoMatchingParent", Message: "the Gateway has no HTTP listener on the port of the parentRef"}
	case !found:
		return Condition{Reason: "NoMatchingParent", Message: "the Gateway has no HTTP listener"}
	case notAllowed:
		return Condition{Reason: "NotAllowedByListeners", Message: msg}
	}
	return Condition{Reason: "NoMatchingListenerHostname", Message: msg}
}

func (c *compiler) compileRule(r *Route, i int, rf field) *Rule {
	rule := &Rule{Index: i, Name: rf.get("name").str()}
	for _, mf := range rf.get("matches").list() {
		if m, ok := c.compileMatch(mf); ok {
			rule.Matches = append(rule.Matches, m)
		}
	}
	if !rf.get("matches").exists() {
		rule.Matches = []Match{{Path: PathMatch{Type: PathPrefix, Value: "/"}}}
	}
	rule.Filters = c.compileFilters(rf.get("filters"))
	rule.Timeouts.Request = duration(rf.at("timeouts", "request"))
	rule.Timeouts.Backend = duration(rf.at("timeouts", "backendRequest"))
	if rule.Timeouts.Request > 0 && rule.Timeouts.Backend > rule.Timeouts.Request {
		rf.at("timeouts", "backendRequest").errorf(ruleTimeout, "backendRequest (%s) must not exceed request (%s)",
			rule.Timeouts.Backend, rule.Timeouts.Request)
	}
	for _, bf := range rf.get("backendRefs").list() {
		rule.BackendRefs = append(rule.BackendRefs, c.compileBackendRef(r, bf))
	}
	return rule
}

// duration reads a Gateway API duration (GEP-2257, e.g. "10s", "1h30m", "500ms"); "0s" means none.
func duration(f field) time.Duration {
	s := f.str()
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		f.errorf(ruleTimeout, "invalid duration %q (want e.g. 10s, 1m, 500ms)", s)
		return 0
	}
	return d
}

func (c *compiler) compileFilters(ff field) Filters {
	var out Filters
	for _, f := range ff.list() {
		switch t := f.get("type").str(); t {
		case "RequestHeaderModifier":
			out.RequestHeaders = headerModifier(f.get("requestHeaderModifier"))
		case "ResponseHeaderModifier":
			out.ResponseHeaders = headerModifier(f.get("responseHeaderModifier"))
		case "RequestRedirect":
			rf := f.get("requestRedirect")
			rd := &Redirect{
				Scheme:     rf.get("scheme").str(),
				Hostname:   rf.get("hostname").str(),
				Port:       rf.get("port").port(),
				Path:       pathModifier(rf.get("path")),
				StatusCode: 302,
			}
			if n, ok := rf.get("statusCode").integer(); ok {
				rd.StatusCode = int(n)
			}
			out.Redirect = rd
		case "URLRewrite":
			uf := f.get("urlRewrite")
			out.Rewrite = &Rewrite{Hostname: uf.get("hostname").str(), Path: pathModifier(uf.get("path"))}
		case "CORS":
			cf := f.get("cors")
			cors := &CORS{
				AllowCredentials: cf.get("allowCredentials").boolean(),
				AllowMethods:     cf.get("allowMethods").strings(),
				AllowHeaders:     cf.get("allowHeaders").strings(),
				ExposeHeaders:    cf.get("exposeHeaders").strings(),
				MaxAge:           5,
			}
			for _, o := range cf.get("allowOrigins").strings() {
				cors.AllowOrigins = append(cors.AllowOrigins, lower(o))
			}
			if n, ok := cf.get("maxAge").integer(); ok {
				cors.MaxAge = n
			}
			out.CORS = cors
		case "":
		default:
			f.get("type").warnf(ruleUnsupported, "filter type %s is not applied by the dataplane", t)
		}
	}
	return out
}

func headerModifier(f field) *HeaderModifier {
	hm := &HeaderModifier{}
	for _, h := range f.get("set").list() {
		hm.Set = append(hm.Set, Header{Name: textproto.CanonicalMIMEHeaderKey(h.get("name").str()), Value: h.get("value").str()})
	}
	for _, h := range f.get("add").list() {
		hm.Add = append(hm.Add, Header{Name: textproto.CanonicalMIMEHeaderKey(h.get("name").str()), Value: h.get("value").str()})
	}
	for _, n := range f.get("remove").strings() {
		hm.Remove = append(hm.Remove, textproto.CanonicalMIMEHeaderKey(n))
	}
	return hm
}

func pathModifier(f field) *PathModifier {
	if !f.exists() {
		return nil
	}
	switch t := f.get("type").str(); t {
	case "ReplaceFullPath":
		s := f.get("replaceFullPath").str()
		return &PathModifier{Full: &s}
	case "ReplacePrefixMatch":
		s := f.get("replacePrefixMatch").strOr("/")
		return &PathModifier{Prefix: &s}
	default:
		f.get("type").errorf(ruleType, "unknown path modifier type %q", t)
	}
	return nil
}
