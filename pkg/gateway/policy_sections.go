package gateway

import (
	"strconv"
	"strings"
	"time"

	"github.com/infergw/gwctl/pkg/jwks"
	"github.com/infergw/gwctl/pkg/manifest"
)

// compilePolicy compiles the sections of an AgentgatewayPolicy the dataplane enforces and
// warns about the ones it ignores.
func (c *compiler) compilePolicy(o *manifest.Object) *compiledPolicy {
	p := &compiledPolicy{name: NamespacedName{Namespace: ns(o), Name: o.Name}}
	spec := root(c, o).get("spec")
	if tf := spec.get("traffic"); tf.exists() {
		p.preRouting = enum(tf.get("phase"), "PostRouting", "PreRouting") == "PreRouting"
		t := &TrafficPolicy{Sources: []NamespacedName{p.name}}
		for k := range tf.object() {
			switch k {
			case "phase":
			case "jwtAuthentication":
				t.JWT = c.compileJWT(o, tf.get(k))
			case "rateLimit":
				t.RateLimit = c.compileRateLimit(o, tf.get(k))
			case "transformation":
				t.Transformation = compileTransformation(tf.get(k))
			default:
				tf.get(k).warnf(ruleUnsupported, "traffic.%s is not enforced by the dataplane", k)
			}
		}
		if !t.Empty() {
			p.traffic = t
		}
	}
	if ff := spec.get("frontend"); ff.exists() {
		for k := range ff.object() {
			switch k {
			case "tracing":
				p.tracing = c.compileTracing(o, ff.get(k))
			case "tls":
				p.frontendTLS = frontendTLS(o, ff.get(k))
			default:
				ff.get(k).warnf(ruleUnsupported, "frontend.%s is not applied by the dataplane", k)
			}
		}
	}
	if bf := spec.get("backend"); bf.exists() {
		for k := range bf.object() {
			switch k {
			case "auth":
				p.auth = backendAuth(bf.get(k))
			case "tls":
				p.backendTLS = c.agentTLS(o, bf.get(k))
			case "mcp":
				mf := bf.get(k)
				if af := mf.get("authorization"); af.exists() {
					p.mcpAuthz = compileMCPAuthorization(af)
				}
				if mf.get("authentication").exists() {
					mf.get("authentication").warnf(ruleUnsupported, "backend.mcp.authentication is deprecated and not enforced by the dataplane: use traffic.jwtAuthentication.mcp")
				}
			default:
				bf.get(k).warnf(ruleUnsupported, "backend.%s is not applied by the dataplane", k)
			}
		}
	}
	return p
}

// maxJWTProviders is the most providers one jwtAuthentication may list (the dataplane's bound).
const maxJWTProviders = 64

func (c *compiler) compileJWT(o *manifest.Object, jf field) *JWTAuthentication {
	j := &JWTAuthentication{
		Mode:         jf.get("mode").strOr("Strict"),
		HeaderName:   "Authorization",
		HeaderPrefix: "Bearer ",
		Policy:       NamespacedName{Namespace: ns(o), Name: o.Name},
	}
	switch j.Mode {
	case "Strict", "Optional", "Permissive":
	default:
		jf.get("mode").errorf(ruleType, "unknown jwtAuthentication mode %q (Strict, Optional, Permissive)", j.Mode)
		return nil
	}
	if !jwtLocation(jf.get("location"), j) {
		return nil
	}
	pfs := jf.get("providers").list()
	if len(pfs) > maxJWTProviders {
		jf.get("providers").errorf(rulePolicy, "jwtAuthentication lists %d providers: at most %d", len(pfs), maxJWTProviders)
		return nil
	}
	issuers := map[string]bool{}
	var jwksRefs []field // the remote backendRef of each provider in j.Providers (zero: inline)
	for _, pf := range pfs {
		pr := JWTProvider{Issuer: pf.get("issuer").str(), Audiences: pf.get("audiences").strings(), CacheDuration: 5 * time.Minute}
		switch {
		case pr.Issuer == "":
			pf.get("issuer").errorf(rulePolicy, "provider needs an issuer")
			continue
		case issuers[pr.Issuer]:
			pf.get("issuer").errorf(rulePolicy, "duplicate provider issuer %q", pr.Issuer)
			continue
		}
		issuers[pr.Issuer] = true
		kf := pf.get("jwks")
		switch {
		case kf.get("inline").exists() && kf.get("remote").exists():
			kf.errorf(rulePolicy, "jwks needs exactly one of remote and inline, not both")
			continue
		case kf.get("inline").exists():
			pr.InlineJWKS = kf.get("inline").str()
			if !checkJWKS(kf.get("inline"), pr.InlineJWKS) {
				continue
			}
		case kf.get("remote").exists():
			rf := kf.get("remote")
			if d := rf.get("cacheDuration"); d.exists() {
				if v := duration(d); v > 0 {
					pr.CacheDuration = v
				}
			}
			addr := c.refAddress(o, rf.get("backendRef"))
			if addr == "" {
				continue
			}
			pr.JWKSURL = "http://" + addr + "/" + strings.TrimPrefix(rf.get("jwksPath").str(), "/")
		default:
			kf.errorf(rulePolicy, "jwks needs remote or inline")
			continue
		}
		j.Providers = append(j.Providers, pr)
		jwksRefs = append(jwksRefs, kf.at("remote", "backendRef"))
	}
	for i, bf := range jwksRefs {
		c.jwksTLS(o, bf, &j.Providers[i])
	}
	if len(j.Providers) == 0 {
		jf.get("providers").errorf(rulePolicy, "jwtAuthentication has no usable provider")
		return nil
	}
	if mf := jf.get("mcp"); mf.exists() {
		switch {
		case len(pfs) != 1:
			mf.errorf(rulePolicy, "jwtAuthentication.mcp needs exactly one provider, not %d", len(pfs))
			return nil
		case j.Mode != "Strict":
			mf.errorf(rulePolicy, "jwtAuthentication.mcp needs mode Strict, not %s", j.Mode)
			return nil
		}
		j.MCP = &JWTMCP{ResourceMetadata: mf.get("resourceMetadata").object(), Provider: mf.get("provider").str()}
	}
	return j
}

// jwtLocation reads jwtAuthentication.location: exactly one of header, queryParameter and
// cookie, with a name. Without location the token is read from Authorization: Bearer.
func jwtLocation(lf field, j *JWTAuthentication) bool {
	if !lf.exists() {
		return true
	}
	var set []string
	for _, k := range []string{"header", "queryParameter", "cookie"} {
		if lf.get(k).exists() {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		lf.errorf(rulePolicy, "location needs exactly one of header, queryParameter and cookie (found %d)", len(set))
		return false
	}
	nf := lf.at(set[0], "name")
	name := nf.str()
	if name == "" {
		nf.errorf(rulePolicy, "location.%s needs a name", set[0])
		return false
	}
	j.HeaderName, j.HeaderPrefix = "", ""
	switch set[0] {
	case "header":
		j.HeaderName, j.HeaderPrefix = name, lf.at("header", "prefix").str()
	case "queryParameter":
		j.QueryParameter = name
	case "cookie":
		j.Cookie = name
	}
	return true
}

// checkJWKS parses an inline JWKS with the parser the dataplane loads it with (pkg/jwks): JSON
// with at least one usable asymmetric signing key, none of them symmetric or malformed.
func checkJWKS(f field, s string) bool {
	if _, _, err := jwks.Parse([]byte(s)); err != nil {
		f.errorf(rulePolicy, "inline JWKS: %v", err)
		return false
	}
	return true
}

// jwksTLS makes a remote JWKS https when TLS applies to its backendRef: a BackendTLSPolicy on
// the Service (attached later), or the policies.tls of the AgentgatewayBackend.
func (c *compiler) jwksTLS(o *manifest.Object, bf field, pr *JWTProvider) {
	if !bf.exists() || pr.JWKSURL == "" {
		return
	}
	name, namespace := bf.get("name").str(), bf.get("namespace").strOr(ns(o))
	switch bf.get("group").str() + "/" + bf.get("kind").strOr("Service") {
	case "/Service":
		c.useService(namespace, name, bf.get("port").port(), &pr.JWKSTLS, &pr.JWKSURL)
	case GroupAgent + "/AgentgatewayBackend":
		if b := c.lookup(GroupAgent, "AgentgatewayBackend", namespace, name); b != nil {
			if pr.JWKSTLS = c.agentTLS(b, root(c, b).at("spec", "policies", "tls")); pr.JWKSTLS != nil {
				pr.JWKSURL = "https://" + strings.TrimPrefix(pr.JWKSURL, "http://")
			}
		}
	}
}

// refAddress resolves a policy backendRef (Service with port, or AgentgatewayBackend with
// spec.static) to host:port; "" with a finding when it cannot.
func (c *compiler) refAddress(o *manifest.Object, bf field) string {
	group, kind := bf.get("group").str(), bf.get("kind").strOr("Service")
	name, namespace := bf.get("name").str(), bf.get("namespace").strOr(ns(o))
	switch group + "/" + kind {
	case "/Service":
		port := bf.get("port").port()
		if port == 0 {
			bf.get("port").errorf(rulePolicy, "backendRef to Service %s/%s needs a port", namespace, name)
			return ""
		}
		sb := c.resolveService(bf, namespace, name, port)
		if sb == nil {
			return ""
		}
		return sb.Address
	case GroupAgent + "/AgentgatewayBackend":
		b := c.lookup(GroupAgent, "AgentgatewayBackend", namespace, name)
		if b == nil {
			bf.get("name").errorf(rulePolicy, "backendRef to AgentgatewayBackend %s/%s, which is not in the input", namespace, name)
			return ""
		}
		sf := root(c, b).at("spec", "static")
		host, port := sf.get("host").str(), sf.get("port").port()
		if host == "" || port == 0 {
			bf.get("name").errorf(rulePolicy, "backendRef to AgentgatewayBackend %s/%s needs spec.static host and port", namespace, name)
			return ""
		}
		return joinHostPort(host, port)
	}
	bf.get("kind").errorf(rulePolicy, "backendRef kind %s is not supported here (Service or AgentgatewayBackend)", kind)
	return ""
}

var units = map[string]time.Duration{"Seconds": time.Second, "Minutes": time.Minute, "Hours": time.Hour}

func (c *compiler) compileRateLimit(o *manifest.Object, rf field) *RateLimit {
	rl := &RateLimit{Policy: NamespacedName{Namespace: ns(o), Name: o.Name}}
	for _, k := range []string{"global", "conditional"} {
		if rf.get(k).exists() {
			rf.get(k).warnf(ruleUnsupported, "rateLimit.%s is not enforced by the dataplane (local only)", k)
		}
	}
	for i, lf := range rf.get("local").list() {
		req, hasReq := lf.get("requests").integer()
		tok, hasTok := lf.get("tokens").integer()
		if hasReq == hasTok {
			lf.errorf(rulePolicy, "exactly one of the fields in [requests tokens] must be set")
			continue
		}
		rate := req
		if hasTok {
			rate = tok
		}
		per, ok := units[lf.get("unit").str()]
		if !ok {
			lf.get("unit").errorf(rulePolicy, "unit must be Seconds, Minutes or Hours")
			continue
		}
		burst, _ := lf.get("burst").integer()
		if burst < 0 {
			lf.get("burst").errorf(rulePolicy, "burst %d is negative (agentgateway would wrap it around): use 0 or more", burst)
			continue
		}
		if rate < 1 {
			lf.errorf(rulePolicy, "rate must be at least 1")
			continue
		}
		rl.Local = append(rl.Local, LocalLimit{
			Tokens: hasTok, Rate: rate, Per: per, Capacity: rate + burst,
			Key: rl.Policy.String() + "/" + strconv.FormatInt(int64(i), 10),
		})
	}
	if len(rl.Local) == 0 {
		return nil
	}
	return rl
}

func compileTransformation(tf field) *Transformation {
	rf := tf.get("request")
	if tf.get("response").exists() {
		tf.get("response").warnf(ruleUnsupported, "transformation.response is not applied by the dataplane")
	}
	if !rf.exists() {
		return nil
	}
	t := &Transformation{}
	for _, list := range []struct {
		key string
		out *[]HeaderExpression
	}{{"set", &t.Set}, {"add", &t.Add}} {
		for _, hf := range rf.get(list.key).list() {
			h, err := CompileHeaderExpression(hf.get("name").str(), hf.get("value").str())
			if err != nil {
				hf.get("value").errorf(ruleExpression, "header %s: %v", h.Name, err)
				continue
			}
			*list.out = append(*list.out, h)
		}
	}
	t.Remove = rf.get("remove").strings()
	for _, k := range []string{"body", "metadata"} {
		if rf.get(k).exists() {
			rf.get(k).warnf(ruleUnsupported, "transformation.request.%s is not applied by the dataplane", k)
		}
	}
	return t
}

// compileMCPAuthorization checks backend.mcp.authorization: a known action and expressions
// that compile in the environment the dataplane evaluates them in.
func compileMCPAuthorization(af field) *MCPAuthorization {
	a := &MCPAuthorization{Action: af.get("action").strOr("Allow")}
	ok := true
	switch a.Action {
	case "Allow", "Deny", "Require":
	default:
		af.get("action").errorf(ruleType, "unknown authorization action %q (Allow, Deny, Require)", a.Action)
		ok = false
	}
	ef := af.at("policy", "matchExpressions")
	for _, xf := range ef.list() {
		expr := xf.str()
		if _, err := CompileMCPAuthorization(expr); err != nil {
			xf.errorf(ruleExpression, "CEL expression %q: %v", expr, err)
			ok = false
			continue
		}
		a.Expressions = append(a.Expressions, expr)
	}
	if ok && len(a.Expressions) == 0 {
		ef.errorf(rulePolicy, "authorization needs at least one matchExpressions entry")
		ok = false
	}
	if !ok {
		return nil
	}
	return a
}

func (c *compiler) compileTracing(o *manifest.Object, tf field) *Tracing {
	t := &Tracing{
		Protocol:       tf.get("protocol").strOr("GRPC"),
		RandomSampling: tf.get("randomSampling").str(),
		ClientSampling: tf.get("clientSampling").str(),
		Policy:         NamespacedName{Namespace: ns(o), Name: o.Name},
	}
	ok := true
	switch t.Protocol {
	case "GRPC":
	case "HTTP":
		t.Path = tf.get("path").strOr("/v1/traces")
		if !strings.HasPrefix(t.Path, "/") {
			tf.get("path").errorf(rulePolicy, "tracing path %q must start with /", t.Path)
			ok = false
		}
	default:
		tf.get("protocol").errorf(ruleType, "unknown tracing protocol %q (GRPC, HTTP)", t.Protocol)
		ok = false
	}
	for _, k := range []string{"randomSampling", "clientSampling"} {
		if s := tf.get(k).str(); s != "" {
			if _, err := ParseSampling(s); err != nil {
				tf.get(k).errorf(ruleExpression, "%v", err)
				ok = false
			}
		}
	}
	if !ok {
		return nil
	}
	t.Endpoint = c.refAddress(o, tf.get("backendRef"))
	if t.Endpoint == "" {
		return nil
	}
	return t
}
