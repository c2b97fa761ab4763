package validate

import (
	"context"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// worldRoute references a Gateway, a Service, a JWKS Service and a Secret that are not in it.
const worldRoute = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
  - backendRefs: [{name: svc, port: 80}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: authn, namespace: apps}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]
  traffic:
    jwtAuthentication:
      providers:
      - issuer: https://dex.example.com
        audiences: [gw]
        jwks:
          remote:
            jwksPath: /keys
            backendRef: {name: dex, namespace: dex, port: 5556}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: anthropic, namespace: apps}
spec:
  ai:
    provider:
      anthropic: {model: claude-sonnet-4-5}
  policies:
    auth:
      secretRef: {name: anthropic-key}
`

// errorsAndWarnings prints the findings that are not info, one a line.
func errorsAndWarnings(fs []finding.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		if f.Severity != finding.Info {
			b.WriteString(f.String())
			b.WriteString("\n")
		}
	}
	return b.String()
}

func validateWith(t *testing.T, opts Options, objs []*manifest.Object) []finding.Finding {
	t.Helper()
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v.Validate(context.Background(), objs)
}

// TestOpenWorldUnresolved: references to objects not in the input are warnings in an open
// world (files of a repo) and errors in a closed one (a render), with the same message; the
// compiler's restatements of them are gone, and in the closed world its knock-on finding names
// its cause.
func TestOpenWorldUnresolved(t *testing.T) {
	open := `in.yaml:5:16: warning HTTPRoute/apps/r spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]
in.yaml:7:19: warning HTTPRoute/apps/r spec.rules[0].backendRefs[0]: Service apps/svc not found in the input [refs/unresolved]
in.yaml:22:25: warning AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers[0].jwks.remote.backendRef: remote JWKS: Service dex/dex not found in the input [refs/unresolved]
in.yaml:33:18: warning AgentgatewayBackend/apps/anthropic spec.policies.auth.secretRef: Secret apps/anthropic-key is neither in the input nor produced by an ExternalSecret, cert-manager Certificate or Gateway annotation, or SealedSecret [refs/unresolved]
`
	closed := `in.yaml:5:16: error HTTPRoute/apps/r spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]
in.yaml:7:19: error HTTPRoute/apps/r spec.rules[0].backendRefs[0]: Service apps/svc not found in the input [refs/unresolved]
in.yaml:17:7: error AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers: jwtAuthentication has no usable provider: providers[0].jwks.remote.backendRef: remote JWKS: Service dex/dex not found in the input (see refs/unresolved) [gateway.policy]
in.yaml:22:25: error AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers[0].jwks.remote.backendRef: remote JWKS: Service dex/dex not found in the input [refs/unresolved]
in.yaml:33:18: error AgentgatewayBackend/apps/anthropic spec.policies.auth.secretRef: Secret apps/anthropic-key is neither in the input nor produced by an ExternalSecret, cert-manager Certificate or Gateway annotation, or SealedSecret [refs/unresolved]
`
	for _, tc := range []struct {
		name string
		open bool
		want string
	}{{"open", true, open}, {"closed", false, closed}} {
		t.Run(tc.name, func(t *testing.T) {
			got := errorsAndWarnings(validateWith(t, Options{OpenWorld: tc.open}, parse(t, worldRoute)))
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestKnownObjects: objects listed as existing outside the input resolve references in either
// world; one known only by name satisfies a port reference, a whole one is checked.
func TestKnownObjects(t *testing.T) {
	list := `- {kind: Gateway, namespace: infra, name: gw}
- {kind: Service, namespace: dex, name: dex}
- {kind: Secret, namespace: apps, name: anthropic-key}
`
	dump := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: svc, namespace: apps, resourceVersion: "7"}
  spec: {ports: [{name: http, port: 8080}]}
  status: {loadBalancer: {}}
`
	var known []objects.Known
	for _, f := range []struct{ name, text string }{{"list.yaml", list}, {"dump.yaml", dump}} {
		k, err := objects.ReadKnown(f.name, []byte(f.text))
		if err != nil {
			t.Fatal(err)
		}
		known = append(known, k...)
	}
	got := errorsAndWarnings(validateWith(t, Options{Known: known}, parse(t, worldRoute)))
	want := "in.yaml:7:19: error HTTPRoute/apps/r spec.rules[0].backendRefs[0]: Service apps/svc has no port 80 [refs/backend-ref]\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestReadKnownErrors: a known-objects entry without kind or name is refused with its position.
func TestReadKnownErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"- {kind: Service, namespace: a, name: b}\n- {namespace: a, name: c}\n", "k.yaml:2:3: a known object needs kind and name (and namespace, unless cluster-scoped)"},
		{"just text\n", "k.yaml:1:1: expected a list of {kind, namespace, name}, a List, or objects"},
		{"- [a, b]\n", "k.yaml:1:3: a known object is a mapping: {kind, namespace, name}"},
	} {
		if _, err := objects.ReadKnown("k.yaml", []byte(tc.text)); err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.text, err, tc.want)
		}
	}
	k, err := objects.ReadKnown("k.yaml", []byte("- {kind: Widget, namespace: a, name: w}\n- {apiVersion: example.com/v1, kind: Gadget, name: g}\n"))
	if err != nil || len(k) != 2 || k[0].Group != "*" || k[1].Group != "example.com" {
		t.Fatalf("groups: %+v %v", k, err)
	}
}

// TestDuplicatesPerInput: in an open world the same object in two inputs (two directory trees
// given) is no duplicate, in one input it is; in a closed world it is anywhere.
func TestDuplicatesPerInput(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {ports: [{port: 80}]}\n"
	objs := func(inputs ...string) []*manifest.Object {
		var out []*manifest.Object
		for i, in := range inputs {
			o := parse(t, svc)[0]
			o.File, o.Input = in+"/svc"+string(rune('0'+i))+".yaml", in
			out = append(out, o)
		}
		return out
	}
	dup := "examples/b/svc1.yaml:3:18: error Service/default/web metadata.name: duplicate Service default/web: also defined at examples/a/svc0.yaml:1 [set/duplicate-object]\n"
	for _, tc := range []struct {
		name   string
		open   bool
		inputs []string
		want   string
	}{
		{"open, two inputs", true, []string{"examples/a", "examples/b"}, ""},
		{"closed, two inputs", false, []string{"examples/a", "examples/b"}, dup},
		{"open, one input", true, []string{"examples", "examples"}, "examples/svc1.yaml:3:18: error Service/default/web metadata.name: duplicate Service default/web: also defined at examples/svc0.yaml:1 [set/duplicate-object]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := errorsAndWarnings(validateWith(t, Options{OpenWorld: tc.open}, objs(tc.inputs...)))
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestGenerateNameIsAName: objects named by metadata.generateName are accepted, as the API
// server accepts them (built-in kinds and custom resources); a bad prefix is still reported.
func TestGenerateNameIsAName(t *testing.T) {
	doc := `apiVersion: batch/v1
kind: Job
metadata: {generateName: migrate-, namespace: db}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata: {generateName: cfg-, namespace: db}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {generateName: cfg-, namespace: db}
data: {a: c}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {generateName: grant-, namespace: db}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]
  to: [{group: "", kind: Service}]
---
apiVersion: v1
kind: ConfigMap
metadata: {generateName: Bad_, namespace: db}
`
	got := errorsAndWarnings(validateWith(t, Options{}, parse(t, doc)))
	want := `in.yaml:29:26: error ConfigMap/db/Bad_* metadata.generateName: Invalid value: "Bad_": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*') [metadata/invalid]
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestKnockOnWarningInOpenWorld: a knock-on whose only causes are warnings (references the open
// world assumes are satisfied) is a warning that names them.
func TestKnockOnWarningInOpenWorld(t *testing.T) {
	doc := `apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: authn, namespace: apps}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]
  traffic:
    jwtAuthentication:
      providers:
      - issuer: https://idp.example.com
        jwks:
          remote:
            jwksPath: /keys
            backendRef: {group: agentgateway.dev, kind: AgentgatewayBackend, name: idp}
`
	got := errorsAndWarnings(validateWith(t, Options{OpenWorld: true}, parse(t, doc)))
	want := `in.yaml:5:16: warning AgentgatewayPolicy/apps/authn spec.targetRefs[0]: target HTTPRoute.gateway.networking.k8s.io apps/r not found in the input (targets must be in the policy's namespace) [refs/unresolved]
in.yaml:9:7: warning AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers: jwtAuthentication has no usable provider: providers[0].jwks.remote.backendRef: remote JWKS: AgentgatewayBackend.agentgateway.dev apps/idp not found in the input (see refs/unresolved) [gateway.policy]
in.yaml:13:25: warning AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers[0].jwks.remote.backendRef: remote JWKS: AgentgatewayBackend.agentgateway.dev apps/idp not found in the input [refs/unresolved]
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
