package gateway

import "strconv"

// Client certificate validation on HTTPS listeners: a Gateway's spec.tls.frontend (Gateway API
// v1.6), a default for every HTTPS listener and per-port overrides.

// The frontend validation modes of the Gateway API.
const (
	ModeAllowValidOnly        = "AllowValidOnly"
	ModeAllowInsecureFallback = "AllowInsecureFallback"
)

// ClientValidation is how an HTTPS listener validates client certificates (mTLS).
type ClientValidation struct {
	// CAPEM are the trust anchors (PEM, the ca.crt of ConfigMaps); never empty.
	CAPEM []byte `json:"-"`
	// CASources name where CAPEM came from, for logs and /configz.
	CASources []string
	// Mode is AllowValidOnly (a verified client certificate is required) or
	// AllowInsecureFallback (one is asked for, and connections without one or with one that fails
	// verification are accepted).
	Mode string
	// Source is where it was set: "spec.tls.frontend.default" or "...perPort[port N]".
	Source string
}

// frontendValidation is a Gateway's spec.tls.frontend, compiled before its listeners.
type frontendValidation struct {
	def     *ClientValidation
	perPort map[int32]*ClientValidation
	portAt  map[int32]field
	// failed says why a part could not be compiled (ResolvedRefs, reason set): the listeners it
	// covers are left out rather than served without client validation.
	failed     Condition
	failedPort map[int32]Condition
}

// compileFrontendValidation reads spec.tls.frontend: default and perPort.
func (c *compiler) compileFrontendValidation(gw NamespacedName, ff field) *frontendValidation {
	if !ff.exists() {
		return nil
	}
	fv := &frontendValidation{perPort: map[int32]*ClientValidation{}, portAt: map[int32]field{}, failedPort: map[int32]Condition{}}
	if df := ff.get("default"); df.exists() {
		fv.def, fv.failed = c.clientValidation(gw, df.get("validation"), "spec.tls.frontend.default")
	}
	for _, pf := range ff.get("perPort").list() {
		port := pf.get("port").port()
		if _, dup := fv.portAt[port]; dup {
			pf.get("port").errorf(ruleTLS, "spec.tls.frontend.perPort: port %d appears twice", port)
			fv.failedPort[port] = Condition{Reason: "UnsupportedValue", Message: "spec.tls.frontend.perPort names port " + strconv.Itoa(int(port)) + " twice"}
			continue
		}
		fv.portAt[port] = pf
		v, failed := c.clientValidation(gw, pf.at("tls", "validation"), "spec.tls.frontend.perPort[port "+strconv.Itoa(int(port))+"]")
		if v == nil {
			fv.failedPort[port] = failed
			continue
		}
		fv.perPort[port] = v
	}
	return fv
}

// clientValidation compiles one validation block: nil when it is absent, or when it cannot be
// enforced (with findings, and the listener's ResolvedRefs saying why in the Gateway API's
// reasons: InvalidCACertificateRef, InvalidCACertificateKind, RefNotPermitted).
func (c *compiler) clientValidation(gw NamespacedName, vf field, source string) (*ClientValidation, Condition) {
	if !vf.exists() {
		return nil, Condition{OK: true}
	}
	v := &ClientValidation{Mode: vf.get("mode").strOr(ModeAllowValidOnly), Source: source}
	failed := Condition{OK: true}
	fail := func(reason, msg string) {
		if failed.OK {
			failed = Condition{Reason: reason, Message: source + ": " + msg}
		}
	}
	switch v.Mode {
	case ModeAllowValidOnly:
	case ModeAllowInsecureFallback:
		vf.get("mode").warnf(ruleTLS, "mode AllowInsecureFallback: connections without a valid client certificate are accepted too, so the backends must authorize clients themselves")
	default:
		vf.get("mode").errorf(ruleTLS, "mode %q: want AllowValidOnly or AllowInsecureFallback", v.Mode)
		fail("UnsupportedValue", "mode "+v.Mode+" is not AllowValidOnly or AllowInsecureFallback")
	}
	refs := vf.get("caCertificateRefs").list()
	if len(refs) == 0 {
		vf.get("caCertificateRefs").errorf(ruleTLS, "client certificate validation needs caCertificateRefs")
		fail("InvalidCACertificateRef", "no caCertificateRefs")
	}
	for _, rf := range refs {
		group, kind, name := rf.get("group").str(), rf.get("kind").str(), rf.get("name").str()
		namespace := rf.get("namespace").strOr(gw.Namespace)
		switch {
		case group != "" || kind != "ConfigMap":
			rf.get("kind").errorf(ruleCARef, "caCertificateRef kind %s (group %q) is not supported: only core ConfigMaps (key ca.crt)", kind, group)
			fail("InvalidCACertificateKind", "caCertificateRef kind "+kind+" (group \""+group+"\") is not supported: only core ConfigMaps")
			continue
		case namespace != gw.Namespace && !c.granted(GroupGateway, "Gateway", gw.Namespace, GroupCore, "ConfigMap", namespace, name):
			rf.get("namespace").errorf(ruleRefGrant, "caCertificateRef to ConfigMap %s/%s crosses namespaces without a ReferenceGrant in namespace %s (from Gateway in %s)",
				namespace, name, namespace, gw.Namespace)
			fail("RefNotPermitted", "caCertificateRef to ConfigMap "+namespace+"/"+name+" is not permitted by any ReferenceGrant")
			continue
		}
		pemData, src, found := c.caBundle(rf.get("name"), namespace, name, ruleCARef)
		if !found {
			fail("InvalidCACertificateRef", "ConfigMap "+namespace+"/"+name+" is missing or has no PEM certificate in ca.crt")
			continue
		}
		v.CAPEM = append(append(v.CAPEM, pemData...), '\n')
		v.CASources = append(v.CASources, src)
	}
	if !failed.OK {
		return nil, failed
	}
	return v, failed
}

// applyFrontendValidation sets the client validation of the Gateway's HTTPS listeners: the
// perPort entry of their port, else the default. A listener whose validation could not be
// compiled is left out (never served open), and a perPort entry without an HTTPS listener is a
// warning.
func (c *compiler) applyFrontendValidation(gw NamespacedName, fv *frontendValidation) {
	if fv == nil {
		return
	}
	used := map[int32]bool{}
	kept := c.listeners[gw.String()][:0]
	for _, l := range c.listeners[gw.String()] {
		if l.TLS == nil {
			kept = append(kept, l)
			continue
		}
		used[l.Port] = true
		v, failed := fv.def, fv.failed
		if _, set := fv.portAt[l.Port]; set {
			v, failed = fv.perPort[l.Port], fv.failedPort[l.Port]
		}
		if failed.Reason != "" {
			c.dropListener(l, failed)
			continue
		}
		l.TLS.ClientValidation = v
		if v != nil && v.Mode == ModeAllowInsecureFallback {
			c.outcomeOf(gw).InsecureFrontend = true
		}
		kept = append(kept, l)
	}
	c.listeners[gw.String()] = kept
	for port, pf := range fv.portAt {
		if !used[port] {
			pf.get("port").warnf(ruleTLS, "spec.tls.frontend.perPort: Gateway %s has no HTTPS listener on port %d", gw, port)
		}
	}
}

// dropListener removes a listener whose client validation cannot be enforced from the config
// (its findings say why), with the status conditions the Gateway API asks for: ResolvedRefs
// from why (a reason the spec names for it) and Accepted NoValidCACertificate, or Accepted
// UnsupportedValue for a mode or port the CRD would have refused.
func (c *compiler) dropListener(l *Listener, why Condition) {
	if src := c.listenerSrc[l]; src != nil && src.outcome != nil {
		if why.Reason == "UnsupportedValue" {
			src.outcome.Accepted = why
		} else {
			src.outcome.ResolvedRefs = why
			src.outcome.Accepted = Condition{Reason: "NoValidCACertificate", Message: why.Message}
		}
	}
	out := c.cfg.Listeners[:0]
	for _, x := range c.cfg.Listeners {
		if x != l {
			out = append(out, x)
		}
	}
	c.cfg.Listeners = out
	delete(c.listenerSrc, l)
}
