package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

func parse(t testing.TB, src string) []*manifest.Object {
	t.Helper()
	objs, err := manifest.Parse("test.yaml", []byte(src), manifest.DefaultLimits)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return objs
}

func TestCompilePlatform(t *testing.T) {
	objs, err := manifest.Load([]string{filepath.Join("testdata", "valid")}, nil, manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	cfg, fs := Compile(objs, Options{Resolve: map[string]string{"echo.inference": "127.0.0.1:9999"}})
	pickers := 0
	for _, f := range fs {
		if f.Rule == ruleEndpointPicker && f.Severity == finding.Info {
			pickers++ // which picker serves each pool
			continue
		}
		t.Errorf("unexpected finding: %s", f)
	}
	if pickers != 1 {
		t.Errorf("%d endpoint-picker info findings, want 1 (one pool)", pickers)
	}
	if len(cfg.Listeners) != 1 || cfg.Listeners[0].Port != 80 {
		t.Fatalf("listeners = %+v", cfg.Listeners)
	}
	routes := map[string]*Route{}
	for _, r := range cfg.Routes {
		routes[r.ID()] = r
	}
	echo := routes["inference/echo"]
	if echo == nil || len(echo.Rules) != 1 {
		t.Fatalf("echo route missing: %+v", routes)
	}
	rule := echo.Rules[0]
	if rule.Timeouts.Request != 10*time.Second || rule.Timeouts.Backend != 2*time.Second {
		t.Errorf("timeouts = %+v", rule.Timeouts)
	}
	m := rule.Matches[0]
	if m.Path.Value != "/api" || m.Method != "GET" || m.Headers[0].Name != "X-Tenant" {
		t.Errorf("match = %+v", m)
	}
	if got := rule.BackendRefs[0]; got.Weight != 3 || got.Backend.Service.Address != "127.0.0.1:9999" {
		t.Errorf("backendRef = %+v", got)
	}
	if got := echo.Attachments[0].Hostnames; len(got) != 1 || got[0] != "echo.example.com" {
		t.Errorf("hostnames = %v", got)
	}

	pool := routes["inference/pool"].Rules[0].BackendRefs[0].Backend
	if pool.Kind != KindInferencePool || pool.Pool.TargetPorts[0] != 8000 || !pool.Pool.Picker.FailOpen ||
		pool.Pool.Picker.Service.Name != "epp" || pool.Pool.Picker.Service.Address != "epp.inference.svc.cluster.local:9002" || !pool.Pool.Picker.External() || pool.Pool.Selector["app"] != "qwen" {
		t.Errorf("pool = %+v / %+v", pool.Pool, pool.Pool.Picker)
	}

	ai := routes["agentgateway-system/egress-anthropic"].Rules[0].BackendRefs[0].Backend
	if ai.Kind != KindAI || ai.AI.Provider.Type != "anthropic" || ai.AI.Provider.Model != "claude-haiku-4-5" || ai.Auth.SecretRef != "anthropic-api-key" {
		t.Errorf("ai = %+v %+v", ai.AI, ai.Auth)
	}

	mcpRule := routes["mcp/mcp"].Rules[0]
	mcp := mcpRule.BackendRefs[0].Backend
	if mcp.Kind != KindMCP || len(mcp.MCP.Targets) != 1 || mcp.MCP.Targets[0].Name != "mcp-server-everything-http" ||
		mcp.MCP.Targets[0].Address != "mcp-server-everything.mcp.svc.cluster.local:3001" || mcp.MCP.Targets[0].Path != "/mcp" {
		t.Errorf("mcp = %+v", mcp.MCP)
	}
	p := mcpRule.Policy
	if p == nil || p.JWT == nil || p.RateLimit == nil {
		t.Fatalf("mcp rule policy = %+v", p)
	}
	if got := p.JWT.Providers[0].JWKSURL; got != "http://dex.dex.svc.cluster.local:5556/keys" {
		t.Errorf("jwks url = %q", got)
	}
	if p.JWT.Providers[0].CacheDuration != 10*time.Minute || p.JWT.Mode != "Strict" || p.JWT.MCP == nil {
		t.Errorf("jwt = %+v", p.JWT)
	}
	if l := p.RateLimit.Local[0]; l.Capacity != 15 || l.Rate != 5 || l.Per != time.Second || l.Tokens {
		t.Errorf("rate limit = %+v", l)
	}
	if cfg.Tracing == nil || cfg.Tracing.Endpoint != "otel-collector.observability.svc.cluster.local:4317" ||
		cfg.Tracing.Protocol != "GRPC" || cfg.Tracing.RandomSampling != "0.1" {
		t.Errorf("tracing = %+v", cfg.Tracing)
	}
}

const gw = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: a}
spec:
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: "*.example.com"}
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: a}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: b}
spec: {ports: [{port: 8080}]}
---
`

func TestCompileFindings(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // substrings of finding.String(), each must appear
	}{
		{"missing gateway", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: nope}]
  rules: [{backendRefs: [{name: svc, port: 8080}]}]
`, []string{"spec.parentRefs[0].name: parentRef to Gateway a/nope, which is not in the input [gateway.parent-ref]"}},
		{"missing listener", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw, sectionName: https}]
`, []string{`spec.parentRefs[0].sectionName: Gateway a/gw has no HTTP listener named "https"`}},
		{"other namespace not allowed", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: b}
spec:
  parentRefs: [{name: gw, namespace: a}]
`, []string{"allowedRoutes.namespaces.from: Same"}},
		{"hostname mismatch", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  hostnames: [foo.other.org]
`, []string{"no route hostname matches listener http"}},
		{"missing service and port", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: nosvc, port: 80}, {name: svc, port: 81}, {name: svc}]
`, []string{
			"spec.rules[0].backendRefs[0].name: Service a/nosvc is not in the input",
			"spec.rules[0].backendRefs[1].port: Service a/svc has no port 81",
			"spec.rules[0].backendRefs[2].port: backendRef to Service a/svc needs a port",
		}},
		{"cross namespace without grant", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: other, namespace: b, port: 8080}]}]
`, []string{"crosses namespaces without a ReferenceGrant in namespace b (from HTTPRoute in a) [gateway.reference-grant]"}},
		{"unsupported backend kind", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: example.com, kind: Bucket, name: x}]}]
`, []string{"backend kind Bucket (group \"example.com\") is not served by the dataplane"}},
		{"invalid regex", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches:
    - path: {type: RegularExpression, value: "/v1/(("}
      headers: [{type: RegularExpression, name: x, value: "a[b"}]
`, []string{"spec.rules[0].matches[0].path.value: invalid regular expression", "spec.rules[0].matches[0].headers[0].value: invalid regular expression"}},
		{"policy targets missing objects", `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: a}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: ghost}
  - {group: gateway.networking.k8s.io, kind: Gateway, name: ghost}
  - {group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: nope}
  traffic: {rateLimit: {local: [{requests: 1, unit: Seconds, burst: -2}]}}
`, []string{
			"spec.targetRefs[0].name: policy targets HTTPRoute a/ghost",
			"spec.targetRefs[1].name: policy targets Gateway a/ghost",
			`spec.targetRefs[2].sectionName: Gateway a/gw has no HTTP listener "nope"`,
			"spec.traffic.rateLimit.local[0].burst: burst -2 is negative",
		}},
		{"wrong types never panic", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw, port: "80"}]
  hostnames: foo
  rules:
  - matches: {path: 3}
    backendRefs: [{name: svc, port: 8080, weight: "x"}]
`, []string{"spec.hostnames: must be a list, not a string", "spec.parentRefs[0].port: must be an integer", "spec.rules[0].matches: must be a list", "spec.rules[0].backendRefs[0].weight: must be an integer"}},
		{"jwks inline oct and missing jwks service", `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  traffic:
    jwtAuthentication:
      providers:
      - issuer: a
        jwks: {inline: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}'}
      - issuer: b
        jwks: {remote: {jwksPath: /keys, backendRef: {name: dex, namespace: dex, port: 5556}}}
`, []string{"symmetric (oct) key", "Service dex/dex is not in the input", "jwtAuthentication has no usable provider"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, fs := Compile(parse(t, gw+tc.src), Options{})
			var got []string
			for _, f := range fs {
				got = append(got, f.String())
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("missing finding %q in:\n%s", w, all)
				}
			}
			if !finding.HasErrors(fs, true) {
				t.Errorf("want at least one error or warning")
			}
			for _, f := range fs {
				if f.Line == 0 || f.File != "test.yaml" {
					t.Errorf("finding without position: %s", f)
				}
			}
		})
	}
}

func TestHostnameIntersection(t *testing.T) {
	cases := []struct {
		listener string
		route    []string
		want     string
	}{
		{"", nil, ""},
		{"", []string{"a.com"}, "a.com"},
		{"a.com", nil, "a.com"},
		{"*.a.com", []string{"x.a.com", "b.com"}, "x.a.com"},
		{"x.a.com", []string{"*.a.com"}, "x.a.com"},
		{"*.a.com", []string{"*.x.a.com"}, "*.x.a.com"},
		{"*.x.a.com", []string{"*.a.com"}, "*.x.a.com"},
		{"*.a.com", []string{"a.com"}, "<none>"},
	}
	for _, tc := range cases {
		got := strings.Join(intersectHostnames(tc.listener, tc.route), ",")
		if got == "" && tc.want == "<none>" && len(intersectHostnames(tc.listener, tc.route)) == 0 {
			continue
		}
		if got != tc.want {
			t.Errorf("intersect(%q, %v) = %q, want %q", tc.listener, tc.route, got, tc.want)
		}
	}
}

func TestPolicyMergeOrder(t *testing.T) {
	src := gw + `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules:
  - name: one
    backendRefs: [{name: svc, port: 8080}]
  - name: two
    backendRefs: [{name: svc, port: 8080}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: old, namespace: a, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]
  traffic: {rateLimit: {local: [{requests: 1, unit: Seconds}]}}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: new, namespace: a, creationTimestamp: "2026-02-01T00:00:00Z"}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]
  traffic: {rateLimit: {local: [{requests: 2, unit: Seconds}]}}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: rule, namespace: a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: two}]
  traffic: {rateLimit: {local: [{tokens: 100, unit: Minutes, burst: 5}]}}
`
	cfg, fs := Compile(parse(t, src), Options{})
	for _, f := range fs {
		t.Errorf("unexpected finding %s", f)
	}
	r := cfg.Routes[0]
	if got := r.Rules[0].Policy.RateLimit.Local[0]; got.Rate != 1 {
		t.Errorf("rule one: oldest policy should win, got %+v", got)
	}
	if got := r.Rules[1].Policy.RateLimit.Local[0]; !got.Tokens || got.Capacity != 105 || got.Per != time.Minute {
		t.Errorf("rule two: rule-level policy should win, got %+v", got)
	}
}

func FuzzCompile(f *testing.F) {
	seed, _ := os.ReadFile(filepath.Join("testdata", "valid", "platform.yaml"))
	f.Add(string(seed))
	f.Add(gw)
	f.Fuzz(func(t *testing.T, src string) {
		objs, err := manifest.Parse("fuzz.yaml", []byte(src), manifest.Limits{MaxFileBytes: 1 << 20, MaxDepth: 64, MaxNodes: 100_000, MaxDocuments: 100})
		if err != nil {
			return
		}
		Compile(objs, Options{})
	})
}
