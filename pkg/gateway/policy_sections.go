package gateway

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/infergw/gwctl/pkg/manifest"
)

// compilePolicy compiles the sections of an AgentgatewayPolicy the dataplane enforces and
// warns about the ones it ignores.
func (c *compiler) compilePolicy(o *manifest.Object) *compiledPolicy {
	p := &compiledPolicy{name: NamespacedName{Namespace: ns(o), Name: o.Name}}
	spec := root(c, o).get("spec")
	if tf := spec.get("traffic"); tf.exists() {
		p.preRouting = tf.get("phase").str() == "PreRouting"
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
			case "mcp":
				mf := bf.get(k)
				if af := mf.get("authorization"); af.exists() {
					p.mcpAuthz = &MCPAuthorization{
						Action:      af.get("action").strOr("Allow"),
						Expressions: af.at("policy", "matchExpressions").strings(),
					}
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
	if lf := jf.get("location"); lf.exists() {
		switch {
		case lf.get("header").exists():
			j.HeaderName = lf.at("header", "name").str()
			j.HeaderPrefix = lf.at("header", "prefix").str()
		case lf.get("queryParameter").exists():
			j.HeaderName, j.HeaderPrefix = "", ""
			j.QueryParameter = lf.at("queryParameter", "name").str()
		case lf.get("cookie").exists():
			j.HeaderName, j.HeaderPrefix = "", ""
			j.Cookie = lf.at("cookie", "name").str()
		}
	}
	for _, pf := range jf.get("providers").list() {
		pr := JWTProvider{Issuer: pf.get("issuer").str(), Audiences: pf.get("audiences").strings(), CacheDuration: 5 * time.Minute}
		kf := pf.get("jwks")
		switch {
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
	}
	if len(j.Providers) == 0 {
		jf.get("providers").errorf(rulePolicy, "jwtAuthentication has no usable provider")
		return nil
	}
	if mf := jf.get("mcp"); mf.exists() {
		j.MCP = &JWTMCP{ResourceMetadata: mf.get("resourceMetadata").object(), Provider: mf.get("provider").str()}
	}
	return j
}

// checkJWKS parses an inline JWKS: it must be JSON with keys, none of them symmetric.
func checkJWKS(f field, s string) bool {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(s), &set); err != nil {
		f.errorf(rulePolicy, "inline JWKS is not valid JSON: %v", err)
		return false
	}
	if len(set.Keys) == 0 {
		f.errorf(rulePolicy, "inline JWKS has no keys")
		return false
	}
	for _, k := range set.Keys {
		if k.Kty == "oct" {
			f.errorf(rulePolicy, "inline JWKS holds a symmetric (oct) key: only asymmetric keys are accepted")
			return false
		}
	}
	return true
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
	for _, h := range rf.get("set").list() {
		t.Set = append(t.Set, HeaderExpression{Name: h.get("name").str(), Expression: h.get("value").str()})
	}
	for _, h := range rf.get("add").list() {
		t.Add = append(t.Add, HeaderExpression{Name: h.get("name").str(), Expression: h.get("value").str()})
	}
	t.Remove = rf.get("remove").strings()
	for _, k := range []string{"body", "metadata"} {
		if rf.get(k).exists() {
			rf.get(k).warnf(ruleUnsupported, "transformation.request.%s is not applied by the dataplane", k)
		}
	}
	return t
}

func (c *compiler) compileTracing(o *manifest.Object, tf field) *Tracing {
	t := &Tracing{
		Protocol:       tf.get("protocol").strOr("GRPC"),
		RandomSampling: tf.get("randomSampling").str(),
		ClientSampling: tf.get("clientSampling").str(),
		Policy:         NamespacedName{Namespace: ns(o), Name: o.Name},
	}
	if t.Protocol == "HTTP" {
		t.Path = tf.get("path").strOr("/v1/traces")
	}
	t.Endpoint = c.refAddress(o, tf.get("backendRef"))
	if t.Endpoint == "" {
		return nil
	}
	return t
}
