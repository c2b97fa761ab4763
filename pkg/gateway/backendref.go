package gateway

import (
	"strconv"

	"github.com/infergw/gwctl/pkg/manifest"
)

// compileBackendRef resolves one rule backendRef. Unresolvable references are findings and
// leave Backend nil (requests that pick it get 500, as the Gateway API specifies).
func (c *compiler) compileBackendRef(r *Route, bf field) BackendRef {
	ref := BackendRef{Weight: 1}
	if w, ok := bf.get("weight").integer(); ok {
		if w < 0 || w > 1_000_000 {
			bf.get("weight").errorf(ruleType, "weight %d is out of range 0-1000000", w)
		} else {
			ref.Weight = int32(w)
		}
	}
	ref.Filters = c.compileFilters(bf.get("filters"))
	if ref.Filters.Redirect != nil || ref.Filters.Rewrite != nil || ref.Filters.CORS != nil {
		bf.get("filters").warnf(ruleUnsupported, "RequestRedirect, URLRewrite and CORS are applied only as rule filters, not on a backendRef")
		ref.Filters.Redirect, ref.Filters.Rewrite, ref.Filters.CORS = nil, nil, nil
	}
	group := bf.get("group").str()
	kind := bf.get("kind").strOr("Service")
	name := bf.get("name").str()
	namespace := bf.get("namespace").strOr(r.Namespace)
	if namespace != r.Namespace && !c.granted(GroupGateway, "HTTPRoute", r.Namespace, group, kind, namespace, name) {
		ref.Invalid = "RefNotPermitted"
		c.backendOutcome(r, "RefNotPermitted", "backendRef to "+kind+" "+namespace+"/"+name+" is not permitted by any ReferenceGrant")
		bf.get("namespace").errorf(ruleRefGrant,
			"backendRef to %s %s/%s crosses namespaces without a ReferenceGrant in namespace %s (from HTTPRoute in %s)",
			kind, namespace, name, namespace, r.Namespace)
		return ref
	}
	var b *Backend
	switch group + "/" + kind {
	case "/Service":
		port := bf.get("port").port()
		if port == 0 {
			bf.get("port").errorf(ruleBackendRef, "backendRef to Service %s/%s needs a port", namespace, name)
			ref.Invalid = "NoPort"
			c.backendOutcome(r, "UnsupportedValue", "backendRef to Service "+namespace+"/"+name+" needs a port")
			return ref
		}
		b = c.serviceBackend(bf, namespace, name, port)
	case GroupAgent + "/AgentgatewayBackend":
		o := c.lookup(GroupAgent, "AgentgatewayBackend", namespace, name)
		if o == nil {
			bf.get("name").errorf(ruleBackendRef, "backendRef to AgentgatewayBackend %s/%s, which is not in the input", namespace, name)
			ref.Invalid = "BackendNotFound"
			c.backendOutcome(r, "BackendNotFound", kind+" "+namespace+"/"+name+" not found")
			return ref
		}
		b = c.agentBackend(o)
	case GroupInference + "/InferencePool":
		o := c.lookup(GroupInference, "InferencePool", namespace, name)
		if o == nil {
			bf.get("name").errorf(ruleBackendRef, "backendRef to InferencePool %s/%s, which is not in the input", namespace, name)
			ref.Invalid = "BackendNotFound"
			c.backendOutcome(r, "BackendNotFound", kind+" "+namespace+"/"+name+" not found")
			return ref
		}
		b = c.poolBackend(o)
		c.poolParents(r, NamespacedName{Namespace: namespace, Name: name})
	default:
		bf.get("kind").errorf(ruleBackendKind, "backend kind %s (group %q) is not served by the dataplane (Service, agentgateway.dev/AgentgatewayBackend, inference.networking.k8s.io/InferencePool)", kind, group)
		ref.Invalid = "InvalidKind"
		c.backendOutcome(r, "InvalidKind", "backend kind "+kind+" (group \""+group+"\") is not supported")
		return ref
	}
	if b == nil {
		ref.Invalid = "BackendNotFound"
		c.backendOutcome(r, "BackendNotFound", "backend "+kind+" "+namespace+"/"+name+" not found or not servable")
		return ref
	}
	ref.Backend = b
	return ref
}

// serviceBackend resolves a Service port; at reports findings. A Service that is not in the
// input is accepted only when Options.Resolve names it (an external or local address).
func (c *compiler) serviceBackend(at field, namespace, name string, port int32) *Backend {
	id := "Service/" + namespace + "/" + name + ":" + strconv.FormatInt(int64(port), 10)
	if b, ok := c.backends[id]; ok {
		return b
	}
	sb := c.resolveService(at, namespace, name, port)
	if sb == nil {
		return nil
	}
	b := &Backend{ID: id, Kind: KindService, Namespace: namespace, Name: name, Service: sb}
	c.backends[id] = b
	c.useService(namespace, name, port, &b.TLS, nil)
	return b
}

// resolveService checks a Service port and resolves its address; at reports findings.
func (c *compiler) resolveService(at field, namespace, name string, port int32) *ServiceBackend {
	svc := c.lookup(GroupCore, "Service", namespace, name)
	sb := &ServiceBackend{Name: name, Namespace: namespace, Port: port}
	switch {
	case svc == nil && !c.resolvable(name, namespace, port):
		at.get("name").errorf(ruleBackendRef, "Service %s/%s is not in the input (and no --resolve override names it)", namespace, name)
		return nil
	case svc != nil:
		sp, ok := servicePort(c, svc, port)
		if !ok && !c.resolvable(name, namespace, port) {
			at.get("port").errorf(ruleBackendRef, "Service %s/%s has no port %d", namespace, name, port)
			return nil
		}
		sb.AppProtocol = sp.appProtocol
	}
	sb.Address = c.serviceAddress(name, namespace, port)
	return sb
}

type svcPort struct {
	name        string
	port        int32
	appProtocol string
}

func servicePorts(c *compiler, svc *manifest.Object) []svcPort {
	var out []svcPort
	for _, pf := range root(c, svc).at("spec", "ports").list() {
		out = append(out, svcPort{name: pf.get("name").str(), port: pf.get("port").port(), appProtocol: pf.get("appProtocol").str()})
	}
	return out
}

func servicePort(c *compiler, svc *manifest.Object, port int32) (svcPort, bool) {
	for _, p := range servicePorts(c, svc) {
		if p.port == port {
			return p, true
		}
	}
	return svcPort{}, false
}

// granted reports whether a ReferenceGrant in toNS lets fromKind objects in fromNS refer to
// toKind/toName.
func (c *compiler) granted(fromGroup, fromKind, fromNS, toGroup, toKind, toNS, toName string) bool {
	for _, g := range c.grants[toNS] {
		f := root(c, g)
		fromOK := false
		for _, ff := range f.at("spec", "from").list() {
			if ff.get("group").str() == fromGroup && ff.get("kind").str() == fromKind && ff.get("namespace").str() == fromNS {
				fromOK = true
			}
		}
		if !fromOK {
			continue
		}
		for _, tf := range f.at("spec", "to").list() {
			if tf.get("group").str() == toGroup && tf.get("kind").str() == toKind {
				if n := tf.get("name").str(); n == "" || n == toName {
					return true
				}
			}
		}
	}
	return false
}
