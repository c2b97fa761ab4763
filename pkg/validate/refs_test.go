package validate

import (
	"context"
	"github.com/infergw/gwctl/pkg/validate/objects"
	"github.com/infergw/gwctl/pkg/validate/refs"
	"strings"
	"testing"
)

const refsBase = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: inference}
spec:
  gatewayClassName: agentgateway
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    allowedRoutes:
      namespaces:
        from: Selector
        selector: {matchLabels: {gateway-access: "true"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps, labels: {gateway-access: "true"}}
---
apiVersion: v1
kind: Service
metadata: {name: vllm, namespace: serving}
spec: {ports: [{name: http, port: 8000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: inference}]
  rules:
  - backendRefs: [{name: vllm, namespace: serving, port: 8000}]
`

const grant = `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: apps-to-vllm, namespace: serving}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]
  to: [{group: "", kind: Service, name: vllm}]
`

func TestReferenceGrantsAndSelectors(t *testing.T) {
	cases := []struct {
		name      string
		doc       string
		want, not []string
	}{
		{"grant and labelled namespace", refsBase + grant, nil, []string{refs.RuleReferenceGrant, refs.RuleListener, refs.RuleBackendRef}},
		{"no grant", refsBase, []string{refs.RuleReferenceGrant}, []string{refs.RuleListener}},
		{"namespace not selected", strings.Replace(refsBase, `gateway-access: "true"}}
---`, `other: "x"}}
---`, 1) + grant, []string{refs.RuleListener}, []string{refs.RuleReferenceGrant}},
	}
	v, err := New(Options{SkipCompile: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rules(v.Validate(context.Background(), parse(t, tc.doc)))
			for _, r := range tc.want {
				if _, ok := got[r]; !ok {
					t.Errorf("want a %s finding, got %v", r, got)
				}
			}
			for _, r := range tc.not {
				if f, ok := got[r]; ok {
					t.Errorf("unexpected %s", f)
				}
			}
		})
	}
}

func TestRouteConflicts(t *testing.T) {
	doc := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: apps}
spec:
  parentRefs: [{name: gw}]
  hostnames: [api.example.com]
  rules:
  - matches: [{path: {value: /v1}}]
    backendRefs: [{name: s, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: apps}
spec:
  parentRefs: [{name: gw}]
  hostnames: [API.example.com, other.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {value: /v2}}]
    backendRefs: [{name: s, port: 80}]
`
	fs := refs.CheckRouteConflicts(objects.New(parse(t, doc), nil))
	if len(fs) != 1 || fs[0].Resource.Name != "b" || fs[0].Field != "spec.rules[0].matches[0]" {
		t.Fatalf("want one conflict on b's first match, got %v", fs)
	}
}

// A ReferenceGrant rewritten into the wrong namespace (a kustomization's namespace:) grants nothing.
func TestGrantNamespace(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string // field: message
	}{
		{"grant in the target namespace", refsBase + grant, nil},
		{"grant moved into the route's namespace", refsBase + strings.Replace(grant, "namespace: serving}", "namespace: apps}", 1), []string{
			"spec.from: every from entry names the grant's own namespace apps, where no grant is needed: a kustomization namespace: probably moved this ReferenceGrant out of the namespace it grants into",
		}},
		{"grant moved into a third namespace", refsBase + strings.Replace(grant, "namespace: serving}", "namespace: platform}", 1), []string{
			"spec.to[0]: no Service vllm is in platform, but HTTPRoute apps/r references Service serving/vllm: a ReferenceGrant only works in the namespace of its targets",
		}},
		{"target absent everywhere", refsBase + strings.Replace(strings.Replace(grant, "namespace: serving}", "namespace: platform}", 1), "name: vllm}", "name: other}", 1), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for range 2 { // deterministic over runs
				got = got[:0]
				for _, f := range refs.Check(objects.New(parse(t, tc.doc), nil)) {
					if f.Rule == refs.RuleGrantNamespace {
						got = append(got, f.Field+": "+f.Message)
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
