package gateway

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// API groups the compiler reads.
const (
	GroupGateway   = "gateway.networking.k8s.io"
	GroupAgent     = "agentgateway.dev"
	GroupInference = "inference.networking.k8s.io"
	GroupCore      = ""
)

// Rules of the findings Compile returns.
const (
	ruleType        = "gateway.type"
	ruleParentRef   = "gateway.parent-ref"
	ruleBackendRef  = "gateway.backend-ref"
	ruleRefGrant    = "gateway.reference-grant"
	ruleBackendKind = "gateway.backend-kind"
	ruleRegex       = "gateway.regex"
	ruleTarget      = "gateway.policy-target"
	ruleUnsupported = "gateway.unsupported"
	ruleDuplicate   = "gateway.duplicate"
	ruleHostname    = "gateway.hostname"
	rulePolicy      = "gateway.policy"
	ruleTimeout     = "gateway.timeout"
	ruleExpression  = "gateway.expression"
	ruleBackendAuth = "gateway.backend-auth"
)

// Options tune how references become addresses.
type Options struct {
	// Resolve overrides Service addresses for runs outside a cluster. Keys are "name.namespace"
	// or "name.namespace:port"; values are host:port. The port-specific key wins.
	Resolve map[string]string
	// ClusterDomain is the cluster DNS suffix (default cluster.local).
	ClusterDomain string
	// AssumeServices accepts references to Services that are not in the input (they are
	// resolved by cluster DNS and their ports are not checked). Off by default: the rendered
	// input carries the Services, and a missing one is usually a mistake.
	AssumeServices bool
	// ControllerName, when set, limits the dataplane to Gateways whose GatewayClass has this
	// spec.controllerName; other implementations' Gateways, and route references to them, are
	// left alone. Empty serves every Gateway.
	ControllerName string
	// AlsoControllers are further controllerNames whose Gateways count as ours: gwctl validate
	// judges agentgateway's too, whose API the dataplane implements.
	AlsoControllers []string
	// RequireClass treats a Gateway whose GatewayClass is not in the input as another
	// implementation's (Kubernetes mode, where every class is visible).
	RequireClass bool
	// SeparateGateways says each Gateway is served on its own address (Kubernetes mode with
	// per-Gateway ports): only listeners of one Gateway can share a port.
	SeparateGateways bool
	// LeaveOutConflicts leaves a listener that conflicts with an earlier one on its port out of
	// the Config, with Conflicted in its outcome, instead of an error finding that refuses the
	// set (Kubernetes mode, where status tells the Gateway's owner).
	LeaveOutConflicts bool
}

// Relevant reports whether the compiler reads objects of this kind; the dataplane ignores others.
func Relevant(o *manifest.Object) bool {
	switch o.Group() + "/" + o.Kind {
	case GroupGateway + "/GatewayClass", GroupGateway + "/Gateway", GroupGateway + "/HTTPRoute", GroupGateway + "/ReferenceGrant",
		GroupAgent + "/AgentgatewayBackend", GroupAgent + "/AgentgatewayPolicy",
		GroupInference + "/InferencePool", "/Service", "/Namespace":
		return true
	}
	if tlsKinds[o.Group()+"/"+o.Kind] || secretProducer(o.Group(), o.Kind) != nil {
		return true
	}
	return unservedKinds[o.Group()+"/"+o.Kind]
}

// unservedKinds are gateway resources the dataplane does not serve: Compile warns about them.
var unservedKinds = map[string]bool{
	GroupGateway + "/GRPCRoute": true, GroupGateway + "/TCPRoute": true, GroupGateway + "/TLSRoute": true,
	GroupGateway + "/UDPRoute": true, GroupGateway + "/ListenerSet": true,
}

type compiler struct {
	opts     Options
	findings []finding.Finding
	// objects by group/kind/namespace/name
	objs map[string]*manifest.Object
	// grants are the ReferenceGrants by namespace.
	grants      map[string][]*manifest.Object
	services    []*manifest.Object
	listeners   map[string][]*Listener // by gateway namespace/name
	listenerSrc map[*Listener]*listenerSrc
	gateways    []*manifest.Object
	routes      []*manifest.Object
	policies    []*manifest.Object
	backends    map[string]*Backend
	// routeObjs maps compiled routes back to their source, for policies and findings.
	routeByKey map[string]*Route
	routeObj   map[*Route]*manifest.Object
	cfg        *Config
	// afterPolicies are checks that need the policies attached (backend.auth fills Backend.Auth).
	afterPolicies []func()
	// foreign are the Gateways another implementation serves (see Options.ControllerName).
	foreign map[NamespacedName]bool
	out     *Outcome
	// keyPairs are the certificate Secrets read so far, by namespace/name (nil: not in the input).
	keyPairs map[string]*keyPair
	// producers make Secrets (cert-manager Certificates, ExternalSecrets, SealedSecrets); tlsPolicies are
	// BackendTLSPolicies.
	producers, tlsPolicies []*manifest.Object
	// secrets indexes the producers and gateway-shim Gateways, on the first secretProduced.
	secrets *secretIndex
	// tlsUses are the calls to Service ports a BackendTLSPolicy can attach to.
	tlsUses []tlsUse
	// backendClientCert is a Gateway's spec.tls.backend.clientCertificateRef.
	backendClientCert *CertificateRef
}

func (c *compiler) add(f finding.Finding) { c.findings = append(c.findings, f) }

func key(group, kind, ns, name string) string { return group + "/" + kind + "/" + ns + "/" + name }

func (c *compiler) lookup(group, kind, ns, name string) *manifest.Object {
	return c.objs[key(group, kind, ns, name)]
}

// Compile turns objects into a Config. It never fails outright: whatever it cannot compile is a
// finding (with the field path) and is left out of the Config. Objects of other kinds are
// ignored. The caller decides whether error findings make the Config unusable (the dataplane
// refuses it; gwctl validate reports them).
func Compile(objs []*manifest.Object, opts Options) (*Config, []finding.Finding) {
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = "cluster.local"
	}
	c := &compiler{
		opts:        opts,
		objs:        map[string]*manifest.Object{},
		grants:      map[string][]*manifest.Object{},
		listeners:   map[string][]*Listener{},
		listenerSrc: map[*Listener]*listenerSrc{},
		backends:    map[string]*Backend{},
		routeByKey:  map[string]*Route{},
		routeObj:    map[*Route]*manifest.Object{},
		cfg:         &Config{Backends: map[string]*Backend{}},
		foreign:     map[NamespacedName]bool{},
		out: &Outcome{Gateways: map[NamespacedName]*GatewayOutcome{}, Routes: map[NamespacedName]*RouteOutcome{},
			Pools: map[NamespacedName]*PoolOutcome{}},
		keyPairs: map[string]*keyPair{},
	}
	c.cfg.Outcome = c.out
	c.out.Foreign = c.foreign
	for _, o := range objs {
		if o == nil || !Relevant(o) {
			continue
		}
		ns := o.Namespace
		if ns == "" && !clusterScoped(o.Kind) {
			ns = "default"
		}
		k := key(o.Group(), o.Kind, ns, o.Name)
		if prev, dup := c.objs[k]; dup && o.Name != "" { // generateName: the API server names each
			c.add(o.Finding("metadata.name", ruleDuplicate, finding.Error,
				"duplicate "+o.Kind+" "+ns+"/"+o.Name+" (also at "+prev.File+")"))
			continue
		}
		c.objs[k] = o
		if unservedKinds[o.Group()+"/"+o.Kind] {
			c.add(o.Finding("kind", ruleUnsupported, finding.Warning, o.Kind+" is not served by the dataplane (HTTPRoute only): ignored"))
			continue
		}
		switch o.Kind {
		case "Gateway":
			c.gateways = append(c.gateways, o)
		case "HTTPRoute":
			c.routes = append(c.routes, o)
		case "ReferenceGrant":
			c.grants[ns] = append(c.grants[ns], o)
		case "AgentgatewayPolicy":
			c.policies = append(c.policies, o)
		case "Service":
			c.services = append(c.services, o)
		case "BackendTLSPolicy":
			c.tlsPolicies = append(c.tlsPolicies, o)
		}
		if secretProducer(o.Group(), o.Kind) != nil {
			c.producers = append(c.producers, o)
		}
	}
	for _, g := range c.gateways {
		if !c.ours(g) {
			c.foreign[NamespacedName{Namespace: ns(g), Name: g.Name}] = true
			continue
		}
		c.compileGateway(g)
	}
	c.checkListenerPorts()
	sortByAge(c.routes)
	for _, r := range c.routes {
		c.compileRoute(r)
	}
	c.compilePolicies()
	c.compileBackendTLSPolicies()
	for _, check := range c.afterPolicies {
		check()
	}
	for id, b := range c.backends {
		c.cfg.Backends[id] = b
	}
	finding.Sort(c.findings)
	return c.cfg, dedupeFindings(c.findings)
}

// clusterScoped kinds are looked up with namespace "".
func clusterScoped(kind string) bool { return kind == "Namespace" || kind == "GatewayClass" }

// ns is the object's namespace, "default" when unset.
func ns(o *manifest.Object) string {
	if o.Namespace == "" {
		return "default"
	}
	return o.Namespace
}

func created(o *manifest.Object) time.Time {
	v, _ := o.Get("metadata", "creationTimestamp")
	s, _ := v.(string)
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// sortByAge orders objects oldest first, then by namespace/name: the Gateway API's tie-break.
func sortByAge(objs []*manifest.Object) {
	type keyed struct {
		o      *manifest.Object
		t      time.Time
		nsName string
	}
	ks := make([]keyed, len(objs))
	for i, o := range objs { // each key computed once, not once per comparison
		ks[i] = keyed{o, created(o), ns(o) + "/" + o.Name}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		ti, tj := ks[i].t, ks[j].t
		if !ti.Equal(tj) {
			if ti.IsZero() || tj.IsZero() {
				return !ti.IsZero()
			}
			return ti.Before(tj)
		}
		return ks[i].nsName < ks[j].nsName
	})
	for i := range ks {
		objs[i] = ks[i].o
	}
}

// serviceAddress resolves a Service port to host:port.
func (c *compiler) serviceAddress(name, namespace string, port int32) string {
	base := name + "." + namespace
	ps := strconv.FormatInt(int64(port), 10)
	if a, ok := c.opts.Resolve[base+":"+ps]; ok {
		return a
	}
	if a, ok := c.opts.Resolve[base]; ok {
		return a
	}
	return base + ".svc." + c.opts.ClusterDomain + ":" + ps
}

func (c *compiler) resolvable(name, namespace string, port int32) bool {
	if c.opts.AssumeServices {
		return true
	}
	base := name + "." + namespace
	if _, ok := c.opts.Resolve[base+":"+strconv.FormatInt(int64(port), 10)]; ok {
		return true
	}
	_, ok := c.opts.Resolve[base]
	return ok
}

func lower(s string) string { return strings.ToLower(s) }

// dedupeFindings drops repeats (a shared object read by several references reports once).
func dedupeFindings(fs []finding.Finding) []finding.Finding {
	seen := make(map[finding.Finding]bool, len(fs))
	out := fs[:0]
	for _, f := range fs {
		k := sameText(f)
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// sameText clears what Finding.String leaves out, so that two findings with the same key are
// exactly those that print the same.
func sameText(f finding.Finding) finding.Finding {
	f.Resource.APIVersion = ""
	if f.Resource.Kind == "" {
		f.Resource = finding.Resource{}
	}
	switch {
	case f.File == "":
		f.Line, f.Column = 0, 0
	case f.Line == 0:
		f.Column = 0
	}
	return f
}
