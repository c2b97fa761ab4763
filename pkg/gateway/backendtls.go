package gateway

import (
	"crypto/x509"
	"strings"

	"github.com/infergw/gwctl/pkg/manifest"
)

// tlsKinds are the objects TLS compiling reads besides the Secret producers (SecretProducers):
// certificate Secrets, CA ConfigMaps and BackendTLSPolicies.
var tlsKinds = map[string]bool{"/Secret": true, "/ConfigMap": true, GroupGateway + "/BackendTLSPolicy": true}

// tlsUse is one place that calls a Service port and can speak TLS to it: a Service backend,
// an MCP target or a remote JWKS. BackendTLSPolicies attach to them by Service and port.
type tlsUse struct {
	svc  NamespacedName
	port int32
	tls  **UpstreamTLS
	url  *string // an http:// URL that becomes https:// with TLS (remote JWKS)
}

// useService records that *tls is the TLS of calls to a Service port (and url, when not nil,
// their URL).
func (c *compiler) useService(namespace, name string, port int32, tls **UpstreamTLS, url *string) {
	c.tlsUses = append(c.tlsUses, tlsUse{svc: NamespacedName{Namespace: namespace, Name: name}, port: port, tls: tls, url: url})
}

// compileBackendTLSPolicies attaches each BackendTLSPolicy, oldest first, to the Services and
// InferencePools it targets. A target that already has TLS (an older policy, or an
// AgentgatewayPolicy backend.tls) keeps it, with a warning.
func (c *compiler) compileBackendTLSPolicies() {
	sortByAge(c.tlsPolicies)
	if c.out.TLSPolicies == nil {
		c.out.TLSPolicies = map[NamespacedName]*TLSPolicyOutcome{}
	}
	for _, o := range c.tlsPolicies {
		spec := root(c, o).get("spec")
		po := &TLSPolicyOutcome{Accepted: Condition{OK: true, Reason: "Accepted", Message: "the policy is applied"},
			ResolvedRefs: Condition{OK: true, Reason: "ResolvedRefs", Message: "every caCertificateRef resolves"}}
		c.out.TLSPolicies[NamespacedName{Namespace: ns(o), Name: o.Name}] = po
		u := c.backendTLSPolicy(o, spec, po)
		if u == nil {
			// Its targets still speak TLS, failing every handshake: the Gateway API wants a 5xx
			// for a policy whose CA does not resolve, never a plaintext call.
			why := po.Accepted.Message
			if !po.ResolvedRefs.OK {
				why = po.ResolvedRefs.Message
			}
			u = &UpstreamTLS{ServerName: lower(spec.at("validation", "hostname").str()), Source: "BackendTLSPolicy " + ns(o) + "/" + o.Name, Invalid: why}
		}
		found, applied, conflict := false, false, ""
		u.ClientCertificate = c.backendClientCert
		namespace := ns(o)
		for _, tf := range spec.get("targetRefs").list() {
			group, kind, name, section := tf.get("group").str(), tf.get("kind").str(), tf.get("name").str(), tf.get("sectionName").str()
			var slots []tlsUse
			switch group + "/" + kind {
			case "/Service":
				svc := c.lookup(GroupCore, "Service", namespace, name)
				if svc == nil && !c.opts.AssumeServices {
					tf.get("name").warnf(ruleTarget, "BackendTLSPolicy targets Service %s/%s, which is not in the input", namespace, name)
					continue
				}
				for _, use := range c.tlsUses {
					if use.svc.Namespace != namespace || use.svc.Name != name {
						continue
					}
					if section != "" {
						if svc == nil {
							continue
						}
						if p, ok := servicePort(c, svc, use.port); !ok || p.name != section {
							continue
						}
					}
					slots = append(slots, use)
				}
				found = true
			case GroupInference + "/InferencePool":
				if b := c.backends[string(KindInferencePool)+"/"+namespace+"/"+name]; b != nil {
					slots = append(slots, tlsUse{tls: &b.TLS})
					found = true
				}
			default:
				tf.get("kind").warnf(ruleUnsupported, "BackendTLSPolicy target kind %s (group %q) is not served by the dataplane (Service, InferencePool): ignored there", kind, group)
				continue
			}
			for _, s := range slots {
				switch prev := *s.tls; {
				case prev == nil:
					*s.tls = u
					applied = true
					if s.url != nil {
						*s.url = "https://" + strings.TrimPrefix(*s.url, "http://")
					}
				case prev.Source == u.Source:
					applied = true
				default:
					conflict = prev.Source
					tf.warnf(ruleTLS, "%s targets %s %s/%s, which already has TLS from %s (older): this policy is not applied there", u.Source, kind, namespace, name, prev.Source)
				}
			}
		}
		switch {
		case !po.Accepted.OK:
		case !found:
			po.Accepted = Condition{Reason: "TargetNotFound", Message: "no target of the policy is in the input"}
		case !applied && conflict != "":
			po.Accepted = Condition{Reason: "Conflicted", Message: "its targets already have TLS from " + conflict + " (older)"}
		}
	}
}

// backendTLSPolicy compiles a BackendTLSPolicy's validation; nil (with findings, and po's
// conditions saying why) when the dataplane could not verify upstreams by it.
func (c *compiler) backendTLSPolicy(o *manifest.Object, spec field, po *TLSPolicyOutcome) *UpstreamTLS {
	vf := spec.get("validation")
	u := &UpstreamTLS{ServerName: lower(vf.get("hostname").str()), Source: "BackendTLSPolicy " + ns(o) + "/" + o.Name}
	ok := true
	invalid := func(msg string) {
		if po.Accepted.OK {
			po.Accepted = Condition{Reason: "Invalid", Message: msg}
		}
		ok = false
	}
	if u.ServerName == "" {
		vf.get("hostname").errorf(ruleTLS, "validation.hostname is required: it is the SNI and the name verified")
		invalid("validation.hostname is required")
	}
	refs := vf.get("caCertificateRefs").list()
	switch wk := vf.get("wellKnownCACertificates").str(); {
	case len(refs) > 0 && wk != "":
		vf.errorf(ruleTLS, "must not contain both CACertificateRefs and WellKnownCACertificates")
		invalid("validation must not contain both caCertificateRefs and wellKnownCACertificates")
	case wk == "System":
		u.System = true
	case wk != "":
		vf.get("wellKnownCACertificates").errorf(ruleTLS, "wellKnownCACertificates %q is not known to the dataplane (System only)", wk)
		invalid("wellKnownCACertificates " + wk + " is not known to the dataplane")
	case len(refs) == 0:
		vf.errorf(ruleTLS, "must specify either CACertificateRefs or WellKnownCACertificates")
		invalid("validation must specify either caCertificateRefs or wellKnownCACertificates")
	}
	valid := 0
	for _, rf := range refs {
		group, kind, name := rf.get("group").str(), rf.get("kind").str(), rf.get("name").str()
		if group != "" || kind != "ConfigMap" {
			rf.get("kind").errorf(ruleTLS, "caCertificateRef kind %s (group %q) is not supported: only core ConfigMaps (key ca.crt)", kind, group)
			if po.ResolvedRefs.OK {
				po.ResolvedRefs = Condition{Reason: "InvalidKind", Message: "caCertificateRef " + name + ": kind " + kind + " (group \"" + group + "\") is not supported: only core ConfigMaps"}
			}
			continue
		}
		if !c.addCA(u, rf.get("name"), ns(o), name, ruleCARef) {
			if po.ResolvedRefs.OK {
				po.ResolvedRefs = Condition{Reason: "InvalidCACertificateRef", Message: "ConfigMap " + name + " is missing or has no PEM certificate in ca.crt"}
			}
			continue
		}
		valid++
	}
	if valid < len(refs) {
		ok = false
		if po.Accepted.OK && valid == 0 {
			po.Accepted = Condition{Reason: "NoValidCACertificate", Message: "no caCertificateRef resolves"}
		} else if po.Accepted.OK {
			po.Accepted = Condition{Reason: "Invalid", Message: "a caCertificateRef does not resolve: the dataplane applies a policy only when all do"}
		}
	}
	for _, sf := range vf.get("subjectAltNames").list() {
		switch sf.get("type").str() {
		case "Hostname":
			u.SubjectAltNames = append(u.SubjectAltNames, SubjectAltName{Hostname: lower(sf.get("hostname").str())})
		case "URI":
			u.SubjectAltNames = append(u.SubjectAltNames, SubjectAltName{URI: sf.get("uri").str()})
		default:
			sf.get("type").errorf(ruleTLS, "subjectAltNames type %q: want Hostname or URI", sf.get("type").str())
			invalid("subjectAltNames type " + sf.get("type").str() + ": want Hostname or URI")
		}
	}
	for _, k := range sortedKeys(spec.get("options").object()) {
		spec.at("options", k).warnf(ruleUnsupported, "options %q is implementation-specific and not read by the dataplane", k)
	}
	if !ok {
		return nil
	}
	return u
}

// addCA appends the ca.crt of ConfigMap namespace/name to u's roots; false (with a finding at
// at) when it is missing or holds no certificate.
func (c *compiler) addCA(u *UpstreamTLS, at field, namespace, name, rule string) bool {
	pemData, src, ok := c.caBundle(at, namespace, name, rule)
	if !ok {
		return false
	}
	u.CAPEM = append(append(u.CAPEM, pemData...), '\n')
	u.CASources = append(u.CASources, src)
	return true
}

// caBundle is the ca.crt of ConfigMap namespace/name and a name for it; false (with a finding
// of rule at at) when it is missing or holds no certificate. rule is ruleCARef only where the
// caller fails closed without it.
func (c *compiler) caBundle(at field, namespace, name, rule string) ([]byte, string, bool) {
	cm := c.lookup(GroupCore, "ConfigMap", namespace, name)
	if cm == nil {
		at.errorf(rule, "CA ConfigMap %s/%s is not in the input: the dataplane cannot verify certificates without it", namespace, name)
		return nil, "", false
	}
	pemData := root(c, cm).at("data", "ca.crt").str()
	if pemData == "" {
		at.errorf(rule, "CA ConfigMap %s/%s has no data[ca.crt]", namespace, name)
		return nil, "", false
	}
	if !x509.NewCertPool().AppendCertsFromPEM([]byte(pemData)) {
		root(c, cm).at("data", "ca.crt").errorf(rule, "CA ConfigMap %s/%s: ca.crt holds no PEM certificate", namespace, name)
		return nil, "", false
	}
	return []byte(pemData), "ConfigMap " + namespace + "/" + name, true
}

// agentTLS compiles agentgateway's backend TLS (AgentgatewayBackend spec.policies.tls, or an
// AgentgatewayPolicy's backend.tls): sni, caCertificateRefs (ConfigMaps; else the system
// roots, or the ca.crt of the mTLS Secret), verifySubjectAltNames, insecureSkipVerify,
// mtlsCertificateRef, alpnProtocols and keyExchangeGroups.
func (c *compiler) agentTLS(o *manifest.Object, tf field) *UpstreamTLS {
	if !tf.exists() {
		return nil
	}
	namespace := ns(o)
	u := &UpstreamTLS{ServerName: lower(tf.get("sni").str()), Source: o.Kind + " " + namespace + "/" + o.Name}
	ok := true
	switch u.SkipVerify = tf.get("insecureSkipVerify").str(); u.SkipVerify {
	case "":
	case "All":
		tf.get("insecureSkipVerify").warnf(ruleTLS, "insecureSkipVerify All: the backend's certificate is not verified, so anyone on the path can read and change the traffic")
	case "Hostname":
		tf.get("insecureSkipVerify").warnf(ruleTLS, "insecureSkipVerify Hostname: any certificate the CA signed is accepted for this backend; prefer verifySubjectAltNames")
	default:
		tf.get("insecureSkipVerify").errorf(ruleTLS, "insecureSkipVerify %q: want All or Hostname", u.SkipVerify)
		ok = false
	}
	for _, rf := range tf.get("caCertificateRefs").list() {
		if !c.addCA(u, rf.get("name"), namespace, rf.get("name").str(), ruleTLS) {
			ok = false
		}
	}
	for _, sf := range tf.get("verifySubjectAltNames").list() {
		s := sf.str()
		if strings.Contains(s, "://") {
			u.SubjectAltNames = append(u.SubjectAltNames, SubjectAltName{URI: s})
		} else {
			u.SubjectAltNames = append(u.SubjectAltNames, SubjectAltName{Hostname: lower(s)})
		}
	}
	for _, mf := range tf.get("mtlsCertificateRef").list() {
		name := mf.get("name").str()
		ref := &CertificateRef{Namespace: namespace, Name: name}
		if kp := c.secretKeyPair(mf, namespace, name); kp != nil {
			if kp.cert == nil {
				ok = false
			} else {
				ref.CertPEM, ref.KeyPEM, ref.InInput = kp.certPEM, kp.keyPEM, true
				if sec := c.lookup(GroupCore, "Secret", namespace, name); len(tf.get("caCertificateRefs").list()) == 0 && sec != nil {
					if ca := secretValue(root(c, sec), "ca.crt"); ca != nil {
						u.CAPEM = append(u.CAPEM, ca...)
						u.CASources = append(u.CASources, "Secret "+namespace+"/"+name+" ca.crt")
					}
				}
			}
		}
		u.ClientCertificate = ref
	}
	if len(u.CAPEM) == 0 && u.SkipVerify != "All" {
		u.System = true
	}
	u.Options.ALPN = tf.get("alpnProtocols").strings()
	for _, gf := range tf.get("keyExchangeGroups").list() {
		if _, err := CurveID(gf.str()); err != nil {
			gf.errorf(ruleTLS, "%v", err)
			ok = false
			continue
		}
		u.Options.KeyExchangeGroups = append(u.Options.KeyExchangeGroups, gf.str())
	}
	if !ok {
		return nil
	}
	return u
}

// frontendTLS compiles an AgentgatewayPolicy's frontend.tls into the options of the Gateway's
// HTTPS listeners.
func frontendTLS(o *manifest.Object, tf field) *TLSOptions {
	t := &TLSOptions{Policy: NamespacedName{Namespace: ns(o), Name: o.Name}, ALPN: tf.get("alpnProtocols").strings()}
	ok := true
	t.MinVersion, t.MaxVersion = tf.get("minProtocolVersion").str(), tf.get("maxProtocolVersion").str()
	minV, err := TLSVersion(t.MinVersion, true)
	if err != nil {
		tf.get("minProtocolVersion").errorf(ruleTLS, "%v", err)
		ok = false
	}
	maxV, err := TLSVersion(t.MaxVersion, false)
	if err != nil {
		tf.get("maxProtocolVersion").errorf(ruleTLS, "%v", err)
		ok = false
	}
	if maxV != 0 && maxV < minV {
		tf.get("maxProtocolVersion").errorf(ruleTLS, "maxProtocolVersion %s is below minProtocolVersion %s", t.MaxVersion, t.MinVersion)
		ok = false
	}
	tls13 := 0
	for _, sf := range tf.get("cipherSuites").list() {
		id, err := CipherSuite(sf.str())
		switch {
		case err != nil:
			sf.errorf(ruleTLS, "%v", err)
			ok = false
			continue
		case id == 0:
			tls13++
		}
		t.CipherSuites = append(t.CipherSuites, sf.str())
	}
	if tls13 > 0 && tls13 < 3 {
		tf.get("cipherSuites").warnf(ruleTLS, "TLS 1.3 suites cannot be narrowed in Go: all three are offered on TLS 1.3 connections")
	}
	if tls13 == len(t.CipherSuites) && tls13 > 0 && maxV != 0 && maxV < 0x0304 {
		tf.get("cipherSuites").errorf(ruleTLS, "only TLS 1.3 suites are listed, but TLS 1.3 is not allowed")
		ok = false
	}
	for _, gf := range tf.get("keyExchangeGroups").list() {
		if _, err := CurveID(gf.str()); err != nil {
			gf.errorf(ruleTLS, "%v", err)
			ok = false
			continue
		}
		t.KeyExchangeGroups = append(t.KeyExchangeGroups, gf.str())
	}
	for _, a := range t.ALPN {
		if a != "h2" && a != "http/1.1" {
			tf.get("alpnProtocols").warnf(ruleTLS, "ALPN protocol %q is offered but served as HTTP/1.1 or h2 only", a)
		}
	}
	if hf := tf.get("handshakeTimeout"); hf.exists() {
		t.HandshakeTimeout = duration(hf)
	}
	if !ok {
		return nil
	}
	return t
}

// attachFrontendTLS sets the options of the Gateway's HTTPS listeners (the oldest policy wins);
// a listener's own tls.options override the fields they set.
func (c *compiler) attachFrontendTLS(gw NamespacedName, t *TLSOptions, at field) {
	n := 0
	for _, l := range c.listeners[gw.String()] {
		if l.TLS == nil {
			continue
		}
		n++
		switch {
		case l.TLS.Options == nil:
			l.TLS.Options = t
		case l.TLS.Options.Policy == NamespacedName{}: // the listener's own tls.options only
			l.TLS.Options = overlay(t, l.TLS.ListenerOptions)
			l.TLS.Options.Policy = t.Policy
			minV, _ := TLSVersion(l.TLS.Options.MinVersion, true)
			if maxV, _ := TLSVersion(l.TLS.Options.MaxVersion, false); maxV != 0 && maxV < minV {
				at.errorf(ruleTLS, "listener %s: its tls.options and the frontend.tls of %s together allow no TLS version (min %s, max %s)",
					l.Name, t.Policy, l.TLS.Options.MinVersion, l.TLS.Options.MaxVersion)
			}
		case l.TLS.Options.Policy != t.Policy:
			at.warnf(rulePolicy, "frontend.tls of %s is not applied to listener %s: %s (older) sets it", t.Policy, l.Name, l.TLS.Options.Policy)
		}
	}
	if n == 0 {
		at.warnf(rulePolicy, "frontend.tls applies to HTTPS listeners, and Gateway %s has none", gw)
	}
}
