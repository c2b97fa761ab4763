package gateway

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

func compileOK(t *testing.T, src string, opts Options) *Config {
	t.Helper()
	cfg, fs := Compile(parse(t, src), opts)
	if finding.HasErrors(fs, false) {
		var b strings.Builder
		for _, f := range fs {
			b.WriteString(f.String() + "\n")
		}
		t.Fatalf("findings:\n%s", b.String())
	}
	return cfg
}

func TestReferenceGrantAllowsCrossNamespace(t *testing.T) {
	cfg := compileOK(t, gw+`
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: b}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: a}]
  to: [{group: "", kind: Service, name: other}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  hostnames: [x.example.com]
  rules: [{backendRefs: [{name: other, namespace: b, port: 8080}]}]
`, Options{})
	if got := cfg.Routes[0].Rules[0].BackendRefs[0].Backend.Service.Address; got != "other.b.svc.cluster.local:8080" {
		t.Fatalf("address = %q", got)
	}
}

func TestResolveAndAssumeServices(t *testing.T) {
	src := gw + `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: ext, port: 443}, {name: svc, port: 8080}]}]
`
	if _, fs := Compile(parse(t, src), Options{}); !finding.HasErrors(fs, false) {
		t.Fatal("a Service missing from the input must be an error by default")
	}
	cfg := compileOK(t, src, Options{Resolve: map[string]string{"ext.a:443": "127.0.0.1:1", "ext.a": "127.0.0.1:2", "svc.a": "127.0.0.1:3"}})
	refs := cfg.Routes[0].Rules[0].BackendRefs
	if refs[0].Backend.Service.Address != "127.0.0.1:1" || refs[1].Backend.Service.Address != "127.0.0.1:3" {
		t.Fatalf("port-specific override should win: %s %s", refs[0].Backend.Service.Address, refs[1].Backend.Service.Address)
	}
	cfg = compileOK(t, src, Options{AssumeServices: true, ClusterDomain: "corp.local"})
	if got := cfg.Routes[0].Rules[0].BackendRefs[0].Backend.Service.Address; got != "ext.a.svc.corp.local:443" {
		t.Fatalf("assumed address = %q", got)
	}
}

func TestListenerSelectorAndSections(t *testing.T) {
	src := `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  listeners:
  - {name: public, port: 80, protocol: HTTP, hostname: "*.example.com", allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {expose: "yes"}}}}}
  - {name: internal, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: team, labels: {expose: "yes"}}
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: team}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: team}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [app.example.com, app.internal]
  rules: [{backendRefs: [{name: svc, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: only-internal, namespace: team}
spec:
  parentRefs: [{name: gw, namespace: infra, port: 8080}]
  rules: [{backendRefs: [{name: svc, port: 80}]}]
`
	cfg := compileOK(t, src, Options{})
	got := map[string]string{}
	for _, r := range cfg.Routes {
		for _, a := range r.Attachments {
			got[r.Name+"@"+a.Listener.Name] = strings.Join(a.Hostnames, ",")
		}
	}
	want := map[string]string{"r@public": "app.example.com", "r@internal": "app.example.com,app.internal", "only-internal@internal": ""}
	if len(got) != len(want) {
		t.Fatalf("attachments = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: hostnames %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

func TestBackendKinds(t *testing.T) {
	cfg := compileOK(t, gw+`
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: llm, namespace: a}
spec:
  ai:
    groups:
    - providers:
      - name: primary
        openai: {model: gpt-4o}
        host: 127.0.0.1
        port: 9000
        path: /v1/chat/completions
        policies: {auth: {secretRef: {name: openai-key}}}
    - providers:
      - {name: fallback, anthropic: {}, pathPrefix: /anthropic, host: proxy.local, port: 443, policies: {auth: {secretRef: {name: anthropic-key}}}}
  policies:
    ai: {routes: {"/v1/messages": Messages}}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: tools, namespace: a}
spec:
  mcp:
    sessionRouting: Stateless
    targets:
    - {name: one, static: {host: 127.0.0.1, port: 3001}}
    - {name: two, static: {backendRef: {name: svc}, port: 8080, protocol: SSE}}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: idp, namespace: a}
spec: {static: {host: idp.example.com, port: 8443}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - {group: agentgateway.dev, kind: AgentgatewayBackend, name: llm}
    - {group: agentgateway.dev, kind: AgentgatewayBackend, name: tools}
    - {group: agentgateway.dev, kind: AgentgatewayBackend, name: idp}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: tools-authz, namespace: a}
spec:
  targetRefs: [{group: agentgateway.dev, kind: AgentgatewayBackend, name: tools}]
  backend:
    mcp:
      authorization:
        action: Deny
        policy: {matchExpressions: ['mcp.tool.name == "get-env"']}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: tracing, namespace: a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  frontend:
    tracing: {backendRef: {group: agentgateway.dev, kind: AgentgatewayBackend, name: idp}, protocol: HTTP, clientSampling: "false"}
`, Options{})
	refs := cfg.Routes[0].Rules[0].BackendRefs
	ai := refs[0].Backend.AI
	if ai.Provider.Type != "openai" || ai.Provider.Model != "gpt-4o" || ai.Provider.Host != "127.0.0.1" || ai.Provider.Port != 9000 ||
		ai.Provider.Path != "/v1/chat/completions" || ai.Provider.Auth.SecretRef != "openai-key" || ai.Provider.Name != "primary" {
		t.Errorf("primary provider = %+v", ai.Provider)
	}
	if len(ai.Groups) != 2 || ai.Groups[1][0].Type != "anthropic" || ai.Groups[1][0].PathPrefix != "/anthropic" || ai.Routes["/v1/messages"] != "Messages" {
		t.Errorf("groups = %+v routes %v", ai.Groups, ai.Routes)
	}
	mcp := refs[1].Backend
	if !mcp.MCP.Stateless || len(mcp.MCP.Targets) != 2 ||
		mcp.MCP.Targets[0] != (MCPTarget{Name: "one", Address: "127.0.0.1:3001", Path: "/mcp", Protocol: "StreamableHTTP"}) ||
		mcp.MCP.Targets[1] != (MCPTarget{Name: "two", Address: "svc.a.svc.cluster.local:8080", Path: "/sse", Protocol: "SSE"}) {
		t.Errorf("mcp = %+v", mcp.MCP)
	}
	if mcp.MCPAuthorization == nil || mcp.MCPAuthorization.Action != "Deny" || len(mcp.MCPAuthorization.Expressions) != 1 {
		t.Errorf("mcp authorization = %+v", mcp.MCPAuthorization)
	}
	if refs[2].Backend.Kind != KindStatic || refs[2].Backend.Static.Address != "idp.example.com:8443" {
		t.Errorf("static = %+v", refs[2].Backend)
	}
	if tr := cfg.Tracing; tr == nil || tr.Endpoint != "idp.example.com:8443" || tr.Protocol != "HTTP" || tr.Path != "/v1/traces" || tr.ClientSampling != "false" {
		t.Errorf("tracing = %+v", cfg.Tracing)
	}
}

func TestPoolPolicyAndPreRouting(t *testing.T) {
	cfg := compileOK(t, gw+`
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool, namespace: a}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}, {number: 8001}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool}]}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: pool-limit, namespace: a}
spec:
  targetRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool}]
  traffic: {rateLimit: {local: [{tokens: 1000, unit: Minutes}]}}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: bbr, namespace: a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  traffic:
    phase: PreRouting
    transformation:
      request:
        set: [{name: X-Gateway-Base-Model-Name, value: 'string(json(request.body).model)'}]
`, Options{})
	b := cfg.Routes[0].Rules[0].BackendRefs[0].Backend
	if b.Pool.Picker != nil || len(b.Pool.TargetPorts) != 2 || b.Pool.AppProtocol != "http" {
		t.Errorf("pool = %+v", b.Pool)
	}
	if b.Policy == nil || b.Policy.RateLimit == nil || !b.Policy.RateLimit.Local[0].Tokens {
		t.Errorf("pool policy = %+v", b.Policy)
	}
	l := cfg.Listeners[0]
	if l.PreRouting == nil || l.PreRouting.Transformation == nil || l.PreRouting.Transformation.Set[0].Expression != "string(json(request.body).model)" {
		t.Errorf("PreRouting = %+v", l.PreRouting)
	}
	if l.Policy != nil {
		t.Errorf("a PreRouting policy must not be in the PostRouting policy: %+v", l.Policy)
	}
}

func TestJSONLeavesOutInlineKeys(t *testing.T) {
	cfg := compileOK(t, gw+`
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: llm, namespace: a}
spec:
  ai: {provider: {openai: {model: gpt-4o}}}
  policies: {auth: {key: sk-very-secret}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: agentgateway.dev, kind: AgentgatewayBackend, name: llm}]}]
`, Options{})
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "sk-very-secret") || cfg.Routes[0].Rules[0].BackendRefs[0].Backend.Auth.InlineKey != "sk-very-secret" {
		t.Fatalf("inline key handling: %s", b)
	}
}

func TestUnservedKindsWarn(t *testing.T) {
	_, fs := Compile(parse(t, gw+`
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: a}
spec: {parentRefs: [{name: gw}]}
`), Options{})
	if len(fs) != 1 || fs[0].Severity != finding.Warning || !strings.Contains(fs[0].Message, "GRPCRoute is not served") {
		t.Fatalf("findings = %v", fs)
	}
}
