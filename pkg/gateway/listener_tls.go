package gateway

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// Rules of the TLS findings.
const (
	ruleCertificate = "gateway.certificate"          // a certificate the dataplane cannot serve
	ruleCertHost    = "gateway.certificate-hostname" // a certificate that does not cover a hostname
	ruleTLS         = "gateway.tls"                  // TLS settings the dataplane cannot apply
	// ruleCARef is a CA certificate reference that does not resolve where its referrer then
	// fails closed (a listener left out, a backend whose handshakes fail), never open.
	ruleCARef = "gateway.ca-certificate"
)

// now is the clock certificate validity is checked against (tests set it).
var now = time.Now

// keyPair is a Secret's certificate and key, parsed once per compile.
type keyPair struct {
	certPEM, keyPEM []byte
	cert            *tls.Certificate // nil when the Secret cannot be served
}

// compileListenerTLS compiles an HTTPS listener's tls section into l.TLS; false leaves the
// listener out (a mode the dataplane does not serve). resolved is the listener's ResolvedRefs:
// false with the spec's reason for the first certificateRef that does not resolve (the
// listener stays, and its handshakes fail until the Secret is served).
func (c *compiler) compileListenerTLS(gw NamespacedName, lf field, l *Listener) (ok bool, resolved Condition) {
	resolved = Condition{OK: true}
	unresolved := func(reason, msg string) {
		if resolved.OK {
			resolved = Condition{Reason: reason, Message: msg}
		}
	}
	tf := lf.get("tls")
	if !tf.exists() {
		lf.errorf(ruleTLS, "HTTPS listener %q needs tls.certificateRefs", l.Name)
		return false, resolved
	}
	if mode := tf.get("mode").strOr("Terminate"); mode != "Terminate" {
		tf.get("mode").warnf(ruleUnsupported, "tls.mode %s is not served by the dataplane (Terminate only): listener %q is ignored", mode, l.Name)
		return false, resolved
	}
	lt := &ListenerTLS{ListenerOptions: listenerOptions(tf)}
	if lt.ListenerOptions != nil {
		lt.Options = overlay(nil, lt.ListenerOptions)
	}
	var leaves []*tls.Certificate
	complete := true // every certificate is known, so hostname coverage can be judged
	refs := tf.get("certificateRefs").list()
	if len(refs) == 0 {
		tf.get("certificateRefs").errorf(ruleTLS, "HTTPS listener %q has no certificateRefs: the dataplane has no certificate to serve", l.Name)
		unresolved("InvalidCertificateRef", "the listener has no certificateRefs")
	}
	for _, rf := range refs {
		group, kind := rf.get("group").str(), rf.get("kind").strOr("Secret")
		name := rf.get("name").str()
		namespace := rf.get("namespace").strOr(gw.Namespace)
		if group != "" || kind != "Secret" {
			rf.get("kind").errorf(ruleCertificate, "certificateRef kind %s (group %q) is not supported: only core Secrets of type kubernetes.io/tls", kind, group)
			unresolved("InvalidCertificateRef", "certificateRef kind "+kind+" (group \""+group+"\") is not supported: only core Secrets")
			continue
		}
		if namespace != gw.Namespace && !c.granted(GroupGateway, "Gateway", gw.Namespace, GroupCore, "Secret", namespace, name) {
			rf.get("namespace").errorf(ruleRefGrant,
				"certificateRef to Secret %s/%s crosses namespaces without a ReferenceGrant in namespace %s (from Gateway in %s)",
				namespace, name, namespace, gw.Namespace)
			unresolved("RefNotPermitted", "certificateRef to Secret "+namespace+"/"+name+" is not permitted by any ReferenceGrant")
			continue
		}
		ref := CertificateRef{Namespace: namespace, Name: name}
		kp := c.secretKeyPair(rf, namespace, name)
		switch {
		case kp == nil:
			complete = false
			unresolved("InvalidCertificateRef", "Secret "+namespace+"/"+name+" is not found")
		case kp.cert != nil:
			ref.CertPEM, ref.KeyPEM, ref.InInput = kp.certPEM, kp.keyPEM, true
			leaves = append(leaves, kp.cert)
		default:
			complete = false
			unresolved("InvalidCertificateRef", "Secret "+namespace+"/"+name+" does not hold a valid kubernetes.io/tls certificate and key")
		}
		lt.Certificates = append(lt.Certificates, ref)
	}
	if complete && l.Hostname != "" && len(leaves) > 0 {
		covered := false
		var names []string
		for _, kp := range leaves {
			covered = covered || CertCovers(kp.Leaf, l.Hostname)
			names = append(names, CertNames(kp.Leaf)...)
		}
		if !covered {
			lf.get("hostname").warnf(ruleCertHost,
				"no certificate of listener %q covers its hostname %s (they carry %s): clients that verify the name refuse the connection",
				l.Name, l.Hostname, strings.Join(names, ", "))
		}
	}
	l.TLS = lt
	return true, resolved
}

// secretKeyPair reads and checks a kubernetes.io/tls Secret of the input, once per compile;
// nil when the Secret is not in the input (the dataplane reads it at run time), with a
// warning unless an object of the input produces it (cert-manager, External Secrets).
func (c *compiler) secretKeyPair(rf field, namespace, name string) *keyPair {
	k := namespace + "/" + name
	if kp, ok := c.keyPairs[k]; ok {
		return kp
	}
	sec := c.lookup(GroupCore, "Secret", namespace, name)
	if sec == nil {
		c.keyPairs[k] = nil
		if !c.secretProduced(namespace, name) {
			rf.get("name").warnf(ruleCertificate,
				"Secret %s/%s is not in the input: the dataplane reads it from its secrets directory (<dir>/%s/tls.crt and tls.key) or the API, and the listener's handshakes fail until it is there",
				namespace, name, name)
		}
		return nil
	}
	sf := root(c, sec)
	kp := &keyPair{}
	c.keyPairs[k] = kp
	if t := sf.get("type").str(); t != "kubernetes.io/tls" {
		sf.get("type").warnf(ruleCertificate, "Secret %s/%s referenced as a certificate has type %q, not kubernetes.io/tls", namespace, name, t)
	}
	var missing []string
	kp.certPEM = secretValue(sf, "tls.crt")
	kp.keyPEM = secretValue(sf, "tls.key")
	if kp.certPEM == nil {
		missing = append(missing, "tls.crt")
	}
	if kp.keyPEM == nil {
		missing = append(missing, "tls.key")
	}
	if len(missing) > 0 {
		sf.get("data").errorf(ruleCertificate, "Secret %s/%s has no %s (data or stringData): the dataplane has no certificate to serve", namespace, name, strings.Join(missing, " and "))
		return kp
	}
	pair, err := ParseKeyPair(kp.certPEM, kp.keyPEM)
	if err != nil {
		at := secretField(sf, "tls.crt")
		if errors.Is(err, ErrKeyMalformed) || errors.Is(err, ErrKeyMismatch) {
			at = secretField(sf, "tls.key")
		}
		at.errorf(ruleCertificate, "Secret %s/%s: %v", namespace, name, err)
		return kp
	}
	if err := CheckValidity(pair.Leaf, now()); err != nil {
		secretField(sf, "tls.crt").errorf(ruleCertificate, "Secret %s/%s: %v: clients refuse it", namespace, name, err)
		return kp
	}
	kp.cert = &pair
	return kp
}

// secretValue is a Secret key's bytes: stringData as written, data base64-decoded; nil when
// absent, empty or not base64 (a finding).
func secretValue(sf field, key string) []byte {
	if s := sf.at("stringData", key).str(); s != "" {
		return []byte(s)
	}
	df := sf.at("data", key)
	s := df.str()
	if s == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		df.errorf(ruleCertificate, "data[%s] is not base64", key)
		return nil
	}
	if len(b) == 0 {
		return nil
	}
	return b
}

func secretField(sf field, key string) field {
	if sf.at("stringData", key).exists() {
		return sf.at("stringData", key)
	}
	return sf.at("data", key)
}

// secretProduced reports whether an object of the input makes the Secret ns/name in the
// cluster: a cert-manager Certificate (spec.secretName), an ExternalSecret (target name), a
// SealedSecret (its template's name) or a Gateway annotated for cert-manager's gateway-shim.
// The producers of the namespace are read in input order up to the first that makes it, and a
// value of the wrong type among them is a finding each time, as reading them one by one on every
// call did; the index answers which one that is (secretIndex).
func (c *compiler) secretProduced(namespace, name string) bool {
	if c.secrets == nil {
		c.secrets = newSecretIndex(c)
	}
	first, found := c.secrets.first[namespace+"/"+name]
	for _, i := range c.secrets.badType[namespace] {
		if found && i > first {
			break
		}
		c.produces(c.secrets.byNS[namespace][i], name) // reports the type, as the walk did
	}
	return found || c.secrets.shim[namespace+"/"+name]
}

// produces reports whether the producer o makes the Secret name in its namespace, with a
// finding when its name field is not a string.
func (c *compiler) produces(o *manifest.Object, name string) bool {
	p := secretProducer(o.Group(), o.Kind)
	if p == nil {
		return false
	}
	f := root(c, o).at(p.path...)
	if p.orName {
		return f.strOr(o.Name) == name
	}
	return f.str() == name
}

// secretIndex is what secretProduced reads, built once: every producer was read for each
// certificate ref of each listener, and every Gateway of the namespace for the gateway-shim.
type secretIndex struct {
	byNS    map[string][]*manifest.Object // producers by namespace, in input order
	first   map[string]int                // namespace/name: the first producer of byNS that makes it
	badType map[string][]int              // namespace: the producers whose name field is not a string
	shim    map[string]bool               // namespace/name: made by the gateway-shim for a Gateway
}

func newSecretIndex(c *compiler) *secretIndex {
	x := &secretIndex{byNS: map[string][]*manifest.Object{}, first: map[string]int{}, badType: map[string][]int{}, shim: map[string]bool{}}
	for _, o := range c.producers {
		namespace := ns(o)
		i := len(x.byNS[namespace])
		x.byNS[namespace] = append(x.byNS[namespace], o)
		var s string
		if p := secretProducer(o.Group(), o.Kind); p != nil {
			var badType bool
			if s, badType = p.Secret(o.Name, o.Content); badType {
				x.badType[namespace] = append(x.badType[namespace], i)
			}
		}
		if _, seen := x.first[namespace+"/"+s]; !seen {
			x.first[namespace+"/"+s] = i
		}
	}
	for _, gw := range c.gateways {
		for _, name := range ShimSecrets(gw.Content, ns(gw)) {
			x.shim[ns(gw)+"/"+name] = true
		}
	}
	return x
}

// checkListenerPorts reports ports whose listeners the dataplane cannot tell apart: HTTP and
// HTTPS on one port (one port speaks one protocol), and two HTTPS listeners with the same
// hostname on one port (the handshake picks a certificate by hostname). Listeners of every
// Gateway count, since the dataplane serves them all on shared ports, unless
// Options.SeparateGateways. With Options.LeaveOutConflicts the later listener (of the younger
// Gateway, then in spec order) is left out and its outcome says Conflicted instead.
func (c *compiler) checkListenerPorts() {
	type seen struct {
		l   *Listener
		src *listenerSrc
	}
	type portKey struct {
		gw   NamespacedName
		port int32
	}
	ls := c.cfg.Listeners
	if c.opts.LeaveOutConflicts {
		ls = c.listenersByAge()
	}
	byPort := map[portKey][]seen{}
	var keys []portKey
	for _, l := range ls {
		k := portKey{port: l.Port}
		if c.opts.SeparateGateways {
			k.gw = l.Gateway
		}
		if byPort[k] == nil {
			keys = append(keys, k)
		}
		byPort[k] = append(byPort[k], seen{l, c.listenerSrc[l]})
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].port < keys[j].port })
	out := map[*Listener]bool{}
	conflict := func(s seen, reason, msg string) {
		if !c.opts.LeaveOutConflicts {
			c.add(s.src.obj.Finding(s.src.path+map[string]string{"ProtocolConflict": ".protocol", "HostnameConflict": ".hostname"}[reason], ruleTLS, finding.Error, msg))
			return
		}
		c.add(s.src.obj.Finding(s.src.path, ruleTLS, finding.Warning, msg+": listener "+s.l.ID()+" is not served"))
		s.src.outcome.Conflicted = Condition{OK: true, Reason: reason, Message: msg}
		out[s.l] = true
	}
	for _, k := range keys {
		ls := byPort[k]
		p := k.port
		first := ls[0]
		hosts := map[string]*Listener{}
		for _, s := range ls {
			if s.l.Protocol != first.l.Protocol {
				conflict(s, "ProtocolConflict", "listener "+s.l.ID()+" is "+s.l.Protocol+" on port "+strconv.Itoa(int(p))+", where listener "+first.l.ID()+" is "+
					first.l.Protocol+": one port serves one protocol")
				continue
			}
			if s.l.Protocol != "HTTPS" {
				continue
			}
			if prev := hosts[s.l.Hostname]; prev != nil {
				h := s.l.Hostname
				if h == "" {
					h = "(any)"
				}
				conflict(s, "HostnameConflict", "HTTPS listeners "+prev.ID()+" and "+s.l.ID()+" on port "+strconv.Itoa(int(p))+" have the same hostname "+h+
					": the handshake cannot tell which certificate to serve")
				continue
			}
			hosts[s.l.Hostname] = s.l
		}
	}
	if len(out) == 0 {
		return
	}
	kept := c.cfg.Listeners[:0:0]
	for _, l := range c.cfg.Listeners {
		if !out[l] {
			kept = append(kept, l)
		}
	}
	c.cfg.Listeners = kept
	for gw, ls := range c.listeners {
		kept := ls[:0:0]
		for _, l := range ls {
			if !out[l] {
				kept = append(kept, l)
			}
		}
		c.listeners[gw] = kept
	}
}

// listenersByAge are the listeners of the oldest Gateway first (the Gateway API's precedence),
// each Gateway's in spec order.
func (c *compiler) listenersByAge() []*Listener {
	gws := make([]*manifest.Object, 0, len(c.listeners))
	seen := map[*manifest.Object]bool{}
	for _, l := range c.cfg.Listeners {
		if o := c.listenerSrc[l].obj; !seen[o] {
			seen[o] = true
			gws = append(gws, o)
		}
	}
	sortByAge(gws)
	rank := make(map[*manifest.Object]int, len(gws))
	for i, o := range gws {
		rank[o] = i
	}
	out := append([]*Listener(nil), c.cfg.Listeners...)
	sort.SliceStable(out, func(i, j int) bool { return rank[c.listenerSrc[out[i]].obj] < rank[c.listenerSrc[out[j]].obj] })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// compileGatewayTLS reads a Gateway's spec.tls: backend.clientCertificateRef is the client
// certificate presented to upstreams a BackendTLSPolicy covers (the first Gateway's, when
// several set one); frontend is the client certificate validation of its HTTPS listeners,
// returned to be applied once they are compiled.
func (c *compiler) compileGatewayTLS(gw NamespacedName, tf field) *frontendValidation {
	if !tf.exists() {
		return nil
	}
	fv := c.compileFrontendValidation(gw, tf.get("frontend"))
	c.compileBackendClientCert(gw, tf.at("backend", "clientCertificateRef"))
	return fv
}

// compileBackendClientCert reads spec.tls.backend.clientCertificateRef; one that does not
// resolve sets the Gateway's ResolvedRefs (InvalidClientCertificateRef, RefNotPermitted).
func (c *compiler) compileBackendClientCert(gw NamespacedName, rf field) {
	if !rf.exists() {
		return
	}
	unresolved := func(reason, msg string) {
		c.outcomeOf(gw).ResolvedRefs = Condition{Reason: reason, Message: "spec.tls.backend.clientCertificateRef: " + msg}
	}
	group, kind := rf.get("group").str(), rf.get("kind").strOr("Secret")
	name, namespace := rf.get("name").str(), rf.get("namespace").strOr(gw.Namespace)
	switch {
	case group != "" || kind != "Secret":
		rf.get("kind").errorf(ruleCertificate, "clientCertificateRef kind %s (group %q) is not supported: only core Secrets of type kubernetes.io/tls", kind, group)
		unresolved("InvalidClientCertificateRef", "kind "+kind+" (group \""+group+"\") is not supported: only core Secrets")
		return
	case namespace != gw.Namespace && !c.granted(GroupGateway, "Gateway", gw.Namespace, GroupCore, "Secret", namespace, name):
		rf.get("namespace").errorf(ruleRefGrant, "clientCertificateRef to Secret %s/%s crosses namespaces without a ReferenceGrant in namespace %s (from Gateway in %s)",
			namespace, name, namespace, gw.Namespace)
		unresolved("RefNotPermitted", "Secret "+namespace+"/"+name+" is not permitted by any ReferenceGrant")
		return
	}
	ref := &CertificateRef{Namespace: namespace, Name: name}
	switch kp := c.secretKeyPair(rf, namespace, name); {
	case kp == nil:
		unresolved("InvalidClientCertificateRef", "Secret "+namespace+"/"+name+" is not found")
	case kp.cert == nil:
		unresolved("InvalidClientCertificateRef", "Secret "+namespace+"/"+name+" does not hold a valid kubernetes.io/tls certificate and key")
	default:
		ref.CertPEM, ref.KeyPEM, ref.InInput = kp.certPEM, kp.keyPEM, true
	}
	switch {
	case c.backendClientCert == nil:
		c.backendClientCert = ref
	case c.backendClientCert.ID() != ref.ID():
		rf.warnf(ruleTLS, "the dataplane presents one client certificate to BackendTLSPolicy upstreams: %s (set first) is used, not %s", c.backendClientCert.ID(), ref.ID())
	}
}
