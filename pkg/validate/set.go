package validate

import (
	"fmt"
	"strings"
	"sync"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// RuleDuplicateObject marks two objects with the same group, kind, namespace and name.
const RuleDuplicateObject = "set/duplicate-object"

// entry is one object with its defaulted content (schema defaults applied, when it has a CRD).
type entry struct {
	obj     *manifest.Object
	content map[string]any
	// known marks an object outside the input (Options.Known): references resolve to it, and
	// nothing is reported about it. stub marks one known only by name: its content is unknown.
	known, stub bool
}

// ns is the object's namespace, "default" when unset (as kubectl applies it).
func (e *entry) ns() string {
	if e.obj.Namespace == "" && !clusterScoped[e.obj.Kind] && e.obj.Kind != "GatewayClass" {
		return "default"
	}
	return e.obj.Namespace
}

// objectSet indexes the whole input by group/kind/namespace/name.
type objectSet struct {
	all    []*entry
	index  map[string]*entry   // group/kind/ns/name, the first one seen
	byKind map[string][]*entry // group/kind
	// anyGroup holds known objects listed without a group, by kind/ns/name.
	anyGroup map[string]*entry
	// open: the input is part of what exists (Options.OpenWorld); references it does not
	// resolve are warnings, and duplicates are judged within one manifest.Object.Input.
	open bool

	routesOnce sync.Once
	routesTo   map[string][]routeRule // lazily: AgentgatewayBackend ns/name -> rules sending to it

	secretsOnce     sync.Once
	externalSecrets map[string]*entry // lazily: ns/name of the Secret -> the first ExternalSecret producing it

	aiRoutesOnce sync.Once
	aiRoutes     map[string]bool // lazily: ns/name of AgentgatewayBackends a policy gives backend.ai.routes
}

// routeRule is one rule of an HTTPRoute.
type routeRule struct {
	rt   *entry
	i    int
	rule map[string]any
}

func newObjectSet(objs []*manifest.Object, defaulted []map[string]any) *objectSet {
	s := &objectSet{index: map[string]*entry{}, byKind: map[string][]*entry{}}
	for i, o := range objs {
		c := o.Content
		if i < len(defaulted) && defaulted[i] != nil {
			c = defaulted[i]
		}
		e := &entry{obj: o, content: c}
		s.all = append(s.all, e)
		gk := o.Group() + "/" + o.Kind
		s.byKind[gk] = append(s.byKind[gk], e)
		k := setKey(o.Group(), o.Kind, e.ns(), o.Name)
		if _, ok := s.index[k]; !ok {
			s.index[k] = e
		}
	}
	return s
}

func setKey(group, kind, ns, name string) string { return group + "/" + kind + "/" + ns + "/" + name }

// get finds an object of the input or a known one; group "core" and "" both mean the core group.
func (s *objectSet) get(group, kind, ns, name string) *entry {
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
var knownKinds = map[string]bool{gatewayGroup + "/ReferenceGrant": true, "external-secrets.io/ExternalSecret": true, "/Service": true}

// addKnown adds the objects that exist outside the input; an object of the input wins.
func (s *objectSet) addKnown(known []Known) {
	for _, k := range known {
		e := k.entry()
		if k.Group == "*" {
			if s.anyGroup == nil {
				s.anyGroup = map[string]*entry{}
			}
			s.anyGroup[k.Kind+"/"+e.ns()+"/"+k.Name] = e
			continue
		}
		key := setKey(k.Group, k.Kind, e.ns(), k.Name)
		if _, ok := s.index[key]; ok {
			continue
		}
		s.index[key] = e
		if gk := k.Group + "/" + k.Kind; !e.stub && knownKinds[gk] {
			s.byKind[gk] = append(s.byKind[gk], e)
		}
	}
}

// kind lists the objects of a kind (any version).
func (s *objectSet) kind(group, kind string) []*entry {
	return s.byKind[group+"/"+kind]
}

// rulesTo returns the HTTPRoute rules with a backendRef to the AgentgatewayBackend ns/name.
func (s *objectSet) rulesTo(ns, name string) []routeRule {
	s.routesOnce.Do(func() {
		s.routesTo = map[string][]routeRule{}
		for _, rt := range s.kind(gatewayGroup, "HTTPRoute") {
			for i, rule := range listAt(rt.content, "spec", "rules") {
				rm, _ := rule.(map[string]any)
				for _, b := range listAt(rm, "backendRefs") {
					bm, _ := b.(map[string]any)
					r := readRef(bm, "", "Service", rt.ns())
					if r.group == agentgatewayGroup && r.kind == "AgentgatewayBackend" {
						k := r.ns + "/" + r.name
						s.routesTo[k] = append(s.routesTo[k], routeRule{rt, i, rm})
					}
				}
			}
		}
	})
	return s.routesTo[ns+"/"+name]
}

// externalSecret returns the first ExternalSecret that produces the Secret ns/name (its
// spec.target.name, or its own name when that is unset).
func (s *objectSet) externalSecret(ns, name string) *entry {
	s.secretsOnce.Do(func() {
		s.externalSecrets = map[string]*entry{}
		for _, es := range s.kind("external-secrets.io", "ExternalSecret") {
			target := str(mapAt(es.content, "spec", "target"), "name")
			if target == "" {
				target = es.obj.Name
			}
			if k := es.ns() + "/" + target; s.externalSecrets[k] == nil {
				s.externalSecrets[k] = es
			}
		}
	})
	return s.externalSecrets[ns+"/"+name]
}

// hasAIRoutesPolicy reports whether an AgentgatewayPolicy in ns targets the AgentgatewayBackend
// name and sets backend.ai.routes.
func (s *objectSet) hasAIRoutesPolicy(ns, name string) bool {
	s.aiRoutesOnce.Do(func() {
		s.aiRoutes = map[string]bool{}
		for _, p := range s.kind(agentgatewayGroup, "AgentgatewayPolicy") {
			if mapAt(p.content, "spec", "backend", "ai", "routes") == nil {
				continue
			}
			for _, t := range listAt(p.content, "spec", "targetRefs") {
				if tm, _ := t.(map[string]any); str(tm, "kind") == "AgentgatewayBackend" {
					s.aiRoutes[p.ns()+"/"+str(tm, "name")] = true
				}
			}
		}
	})
	return s.aiRoutes[ns+"/"+name]
}

// duplicates reports every object whose group/kind/namespace/name was seen before: in the
// same input (one file, directory tree or stream given) in an open world, anywhere in a closed
// one. Objects named by generateName are never duplicates.
func duplicates(s *objectSet) []finding.Finding {
	first := map[string]*entry{}
	var out []finding.Finding
	for _, e := range s.all {
		if e.obj.Name == "" {
			continue
		}
		k := setKey(e.obj.Group(), e.obj.Kind, e.ns(), e.obj.Name)
		if s.open {
			k = e.obj.Input + "\x00" + k
		}
		if prev, ok := first[k]; ok {
			name := e.obj.Name
			if e.ns() != "" {
				name = e.ns() + "/" + name
			}
			out = append(out, e.obj.Finding("metadata.name", RuleDuplicateObject, finding.Error,
				fmt.Sprintf("duplicate %s %s: also defined at %s", e.obj.Kind, name, position(prev.obj))))
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

func mapAt(v any, keys ...string) map[string]any {
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

func listAt(v any, keys ...string) []any {
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

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func num(m map[string]any, k string) (int64, bool) {
	switch t := m[k].(type) {
	case int64:
		return t, true
	case float64:
		return int64(t), true
	}
	return 0, false
}

func lower(s string) string { return strings.ToLower(s) }
