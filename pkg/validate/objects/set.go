package objects

import (
	"fmt"
	"sync"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/builtin"
)

// RuleDuplicateObject marks two objects with the same group, kind, namespace and name.
const RuleDuplicateObject = "set/duplicate-object"

// entry is one object with its defaulted content (schema defaults applied, when it has a CRD).
type Entry struct {
	Obj     *manifest.Object
	Content map[string]any
	// known marks an object outside the input (Options.Known): references resolve to it, and
	// nothing is reported about it. stub marks one known only by name: its content is unknown.
	Known, Stub bool
}

// ns is the object's namespace, "default" when unset (as kubectl applies it).
func (e *Entry) NS() string {
	if e.Obj.Namespace == "" && !builtin.ClusterScoped[e.Obj.Kind] && e.Obj.Kind != "GatewayClass" {
		return "default"
	}
	return e.Obj.Namespace
}

// objectSet indexes the whole input by group/kind/namespace/name.
type Set struct {
	All    []*Entry
	index  map[string]*Entry   // group/kind/ns/name, the first one seen
	byKind map[string][]*Entry // group/kind
	// anyGroup holds known objects listed without a group, by kind/ns/name.
	anyGroup map[string]*Entry
	// open: the input is part of what exists (Options.OpenWorld); references it does not
	// resolve are warnings, and duplicates are judged within one manifest.Object.Input.
	Open bool
	// ControllerName is the dataplane's GatewayClass controllerName (gateway.DefaultControllerName
	// when empty; validate.Options.ControllerName).
	ControllerName string

	routesOnce sync.Once
	routesTo   map[string][]RouteRule // lazily: AgentgatewayBackend ns/name -> rules sending to it

	secretsOnce     sync.Once
	secretProducers map[string]*Entry // lazily: ns/name of the Secret -> the first object producing it

	aiRoutesOnce sync.Once
	aiRoutes     map[string]bool // lazily: ns/name of AgentgatewayBackends a policy gives backend.ai.routes
}

// routeRule is one rule of an HTTPRoute.
type RouteRule struct {
	Route *Entry
	Index int
	Rule  map[string]any
}

func New(objs []*manifest.Object, defaulted []map[string]any) *Set {
	s := &Set{index: make(map[string]*Entry, len(objs)), byKind: map[string][]*Entry{}, All: make([]*Entry, 0, len(objs))}
	entries := make([]Entry, len(objs)) // one allocation, not one per object
	for i, o := range objs {
		c := o.Content
		if i < len(defaulted) && defaulted[i] != nil {
			c = defaulted[i]
		}
		e := &entries[i]
		*e = Entry{Obj: o, Content: c}
		s.All = append(s.All, e)
		gk := o.Group() + "/" + o.Kind
		s.byKind[gk] = append(s.byKind[gk], e)
		k := setKey(o.Group(), o.Kind, e.NS(), o.Name)
		if _, ok := s.index[k]; !ok {
			s.index[k] = e
		}
	}
	return s
}

func setKey(group, kind, ns, name string) string { return group + "/" + kind + "/" + ns + "/" + name }

// get finds an object of the input or a known one; group "core" and "" both mean the core group.
func (s *Set) Get(group, kind, ns, name string) *Entry {
	if group == "core" {
		group = ""
	}
	if e := s.index[setKey(group, kind, ns, name)]; e != nil {
		return e
	}
	return s.anyGroup[kind+"/"+ns+"/"+name]
}

// knownKinds are the kinds whose known objects take part in the checks that list a kind
// (grants, secrets produced, MCP Services), beyond resolving references by name.
var knownKinds = map[string]bool{GatewayGroup + "/ReferenceGrant": true, "external-secrets.io/ExternalSecret": true, "cert-manager.io/Certificate": true, "bitnami.com/SealedSecret": true, "/Service": true}

// addKnown adds the objects that exist outside the input; an object of the input wins.
func (s *Set) AddKnown(known []Known) {
	for _, k := range known {
		e := k.entry()
		if k.Group == "*" {
			if s.anyGroup == nil {
				s.anyGroup = map[string]*Entry{}
			}
			s.anyGroup[k.Kind+"/"+e.NS()+"/"+k.Name] = e
			continue
		}
		key := setKey(k.Group, k.Kind, e.NS(), k.Name)
		if _, ok := s.index[key]; ok {
			continue
		}
		s.index[key] = e
		if gk := k.Group + "/" + k.Kind; !e.Stub && knownKinds[gk] {
			s.byKind[gk] = append(s.byKind[gk], e)
		}
	}
}

// kind lists the objects of a kind (any version).
func (s *Set) Kind(group, kind string) []*Entry {
	return s.byKind[group+"/"+kind]
}

// rulesTo returns the HTTPRoute rules with a backendRef to the AgentgatewayBackend ns/name.
func (s *Set) RulesTo(ns, name string) []RouteRule {
	s.routesOnce.Do(func() {
		s.routesTo = map[string][]RouteRule{}
		for _, rt := range s.Kind(GatewayGroup, "HTTPRoute") {
			for i, rule := range ListAt(rt.Content, "spec", "rules") {
				rm, _ := rule.(map[string]any)
				for _, b := range ListAt(rm, "backendRefs") {
					bm, _ := b.(map[string]any)
					r := ReadRef(bm, "", "Service", rt.NS())
					if r.Group == AgentgatewayGroup && r.Kind == "AgentgatewayBackend" {
						k := r.NS + "/" + r.Name
						s.routesTo[k] = append(s.routesTo[k], RouteRule{rt, i, rm})
					}
				}
			}
		}
	})
	return s.routesTo[ns+"/"+name]
}

// SecretProducer returns the first object that makes the Secret ns/name in the cluster, by
// pkg/gateway's rules (gateway.SecretProducers, then Gateways annotated for cert-manager's
// gateway-shim, gateway.ShimSecrets): an ExternalSecret, a cert-manager Certificate, a Sealed
// Secrets SealedSecret, a Gateway; "first" is in that order, then in input order.
func (s *Set) SecretProducer(ns, name string) *Entry {
	s.secretsOnce.Do(func() {
		s.secretProducers = map[string]*Entry{}
		add := func(e *Entry, ns, name string) {
			if k := ns + "/" + name; name != "" && s.secretProducers[k] == nil {
				s.secretProducers[k] = e
			}
		}
		for _, p := range gateway.SecretProducers {
			for _, e := range s.Kind(p.Group, p.Kind) {
				secret, _ := p.Secret(e.Obj.Name, e.Content)
				add(e, e.NS(), secret)
			}
		}
		for _, gw := range s.Kind(GatewayGroup, "Gateway") {
			if gw.Stub {
				continue
			}
			for _, secret := range gateway.ShimSecrets(gw.Content, gw.NS()) {
				add(gw, gw.NS(), secret)
			}
		}
	})
	return s.secretProducers[ns+"/"+name]
}

// hasAIRoutesPolicy reports whether an AgentgatewayPolicy in ns targets the AgentgatewayBackend
// name and sets backend.ai.routes.
func (s *Set) HasAIRoutesPolicy(ns, name string) bool {
	s.aiRoutesOnce.Do(func() {
		s.aiRoutes = map[string]bool{}
		for _, p := range s.Kind(AgentgatewayGroup, "AgentgatewayPolicy") {
			if MapAt(p.Content, "spec", "backend", "ai", "routes") == nil {
				continue
			}
			for _, t := range ListAt(p.Content, "spec", "targetRefs") {
				if tm, _ := t.(map[string]any); Str(tm, "kind") == "AgentgatewayBackend" {
					s.aiRoutes[p.NS()+"/"+Str(tm, "name")] = true
				}
			}
		}
	})
	return s.aiRoutes[ns+"/"+name]
}

// duplicates reports every object whose group/kind/namespace/name was seen before: in the
// same input (one file, directory tree or stream given) in an open world, anywhere in a closed
// one. Objects named by generateName are never duplicates.
func Duplicates(s *Set) []finding.Finding {
	first := map[string]*Entry{}
	var out []finding.Finding
	for _, e := range s.All {
		if e.Obj.Name == "" {
			continue
		}
		k := setKey(e.Obj.Group(), e.Obj.Kind, e.NS(), e.Obj.Name)
		if s.Open {
			k = e.Obj.Input + "\x00" + k
		}
		if prev, ok := first[k]; ok {
			name := e.Obj.Name
			if e.NS() != "" {
				name = e.NS() + "/" + name
			}
			out = append(out, e.Obj.Finding("metadata.name", RuleDuplicateObject, finding.Error,
				fmt.Sprintf("duplicate %s %s: also defined at %s", e.Obj.Kind, name, position(prev.Obj))))
			continue
		}
		first[k] = e
	}
	return out
}

func position(o *manifest.Object) string {
	return fmt.Sprintf("%s:%d", o.File, o.Pos.Line)
}

// helpers for reading decoded JSON values.

func MapAt(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

func ListAt(v any, keys ...string) []any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	l, _ := v.([]any)
	return l
}

func Str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func Num(m map[string]any, k string) (int64, bool) {
	switch t := m[k].(type) {
	case int64:
		return t, true
	case float64:
		return int64(t), true
	}
	return 0, false
}
