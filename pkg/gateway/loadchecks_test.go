package gateway

import (
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

// route sends every request of namespace a to the named AgentgatewayBackend, so the compiler
// builds it as the dataplane would.
func route(backend string) string {
	return `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: agentgateway.dev, kind: AgentgatewayBackend, name: ` + backend + `}]}]
---
`
}

// policy is an AgentgatewayPolicy on the Gateway with the given spec sections.
func policy(sections string) string {
	return `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
` + sections
}

const inlineKey = `{"keys":[{"kty":"OKP","kid":"a","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`

// Every check the dataplane used to make only when loading a config is a compile error naming
// the field, so gwctl validate reports it.
func TestLoadTimeChecksAreFindings(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // substrings of error findings, field path first
	}{
		{"transformation expression", policy(`  traffic:
    transformation:
      request:
        set: [{name: x-copied, value: 'request.headers["x"]'}]
        add: [{name: x-empty, value: ""}]
`), []string{
			`spec.traffic.transformation.request.set[0].value: header x-copied: expression "request.headers[\"x\"]" is not supported by this dataplane`,
			`spec.traffic.transformation.request.add[0].value: header x-empty: expression ""`,
		}},
		{"anthropic without auth", route("llm") + `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: llm, namespace: a}
spec: {ai: {provider: {anthropic: {model: m}}}}
`, []string{"spec.policies.auth: the anthropic provider needs policies.auth with secretRef or key"}},
		{"anthropic with passthrough, group provider without key", route("llm") + `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: llm, namespace: a}
spec:
  ai:
    groups:
    - providers:
      - {name: one, anthropic: {}, policies: {auth: {passthrough: {}}}}
      - {name: two, anthropic: {}, policies: {auth: {secretRef: {name: k}}}}
    - providers:
      - {name: three, anthropic: {}}
`, []string{
			"spec.ai.groups[0].providers[0].policies.auth: the anthropic provider needs an API key: policies.auth passthrough cannot supply one",
			"spec.policies.auth: the anthropic provider needs policies.auth",
		}},
		{"gemini without auth, and a model that is not an id", route("llm") + `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: llm, namespace: a}
spec:
  ai:
    groups:
    - providers:
      - {name: one, gemini: {model: gemini-2.5-flash}}
      - {name: two, gemini: {model: "gemini/../../files"}, policies: {auth: {secretRef: {name: k}}}}
`, []string{
			`spec.ai.groups[0].providers[1].gemini.model: model "gemini/../../files" is not a Gemini model id`,
			"spec.policies.auth: the gemini provider needs policies.auth with secretRef or key",
		}},
		{"group provider names and host", route("llm") + `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: llm, namespace: a}
spec:
  ai:
    groups:
    - providers:
      - {openai: {}}
      - {name: a, openai: {}}
      - {name: a, openai: {}}
      - {name: b, openai: {}, host: "bad host", port: 80}
`, []string{
			"spec.ai.groups[0].providers[0].name: a spec.ai.groups provider needs a name",
			`spec.ai.groups[0].providers[2].name: duplicate provider name "a"`,
			`spec.ai.groups[0].providers[3].host: invalid base URL`,
		}},
		{"mcp targets", route("tools") + `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: tools, namespace: a}
spec:
  mcp:
    sessionRouting: Sometimes
    failureMode: FailSoft
    targets:
    - {name: Bad_Name, static: {host: 127.0.0.1, port: 3001}}
    - {name: one, static: {host: 127.0.0.1, port: 3001}}
    - {name: one, static: {host: 127.0.0.1, port: 3002}}
    - {name: proto, static: {host: 127.0.0.1, port: 3003, protocol: WebSocket}}
    - {name: nohost, static: {port: 3004}}
    - {name: badpath, static: {host: 127.0.0.1, port: 3005, path: "/%zz"}}
`, []string{
			`spec.mcp.sessionRouting: unknown value "Sometimes" (Stateful, Stateless)`,
			`spec.mcp.failureMode: unknown value "FailSoft" (FailClosed, FailOpen)`,
			`spec.mcp.targets[0].name: MCP target name "Bad_Name" is not a lowercase DNS subdomain`,
			`spec.mcp.targets[2].name: duplicate MCP target name "one"`,
			`spec.mcp.targets[3].static.protocol: unknown MCP protocol "WebSocket"`,
			`spec.mcp.targets[4].static: MCP target "nohost" needs host or backendRef`,
			`spec.mcp.targets[5]: MCP target "badpath": parse`,
		}},
		{"mcp selector matching nothing", route("tools") + `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: tools, namespace: a}
spec: {mcp: {targets: [{name: t, selector: {services: {matchLabels: {app: none}}}}]}}
`, []string{"spec.mcp.targets: MCP backend has no targets"}},
		{"mcp authorization", `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: a}
spec:
  targetRefs: [{group: agentgateway.dev, kind: AgentgatewayBackend, name: tools}]
  backend:
    mcp:
      authorization:
        action: Audit
        policy: {matchExpressions: ['request.path == "/"', '1 + 1', 'jwt.sub ==']}
`, []string{
			`spec.backend.mcp.authorization.action: unknown authorization action "Audit"`,
			`spec.backend.mcp.authorization.policy.matchExpressions[0]: CEL expression "request.path == \"/\"": ERROR`,
			`spec.backend.mcp.authorization.policy.matchExpressions[1]: CEL expression "1 + 1": yields int, want bool`,
			`spec.backend.mcp.authorization.policy.matchExpressions[2]: CEL expression "jwt.sub =="`,
		}},
		{"mcp authorization without expressions", `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: a}
spec:
  targetRefs: [{group: agentgateway.dev, kind: AgentgatewayBackend, name: tools}]
  backend: {mcp: {authorization: {policy: {matchExpressions: []}}}}
`, []string{"spec.backend.mcp.authorization.policy.matchExpressions: authorization needs at least one matchExpressions entry"}},
		{"jwt providers", policy(`  traffic:
    jwtAuthentication:
      providers:
      - jwks: {inline: '` + inlineKey + `'}
      - {issuer: a, jwks: {inline: '` + inlineKey + `'}}
      - {issuer: a, jwks: {inline: '` + inlineKey + `'}}
      - {issuer: b, jwks: {inline: '` + inlineKey + `', remote: {jwksPath: /k, backendRef: {name: svc, port: 8080}}}}
      - {issuer: c, jwks: {inline: '{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]}'}}
`), []string{
			"spec.traffic.jwtAuthentication.providers[0].issuer: provider needs an issuer",
			`spec.traffic.jwtAuthentication.providers[2].issuer: duplicate provider issuer "a"`,
			"spec.traffic.jwtAuthentication.providers[3].jwks: jwks needs exactly one of remote and inline, not both",
			"spec.traffic.jwtAuthentication.providers[4].jwks.inline: inline JWKS: jwks: keys[0] (kid \"r\"): RSA modulus of 17 bits is below 2048",
		}},
		{"jwt location", policy(`  traffic:
    jwtAuthentication:
      location: {header: {name: X-Token}, cookie: {name: t}}
      providers: [{issuer: a, jwks: {inline: '` + inlineKey + `'}}]
`), []string{"spec.traffic.jwtAuthentication.location: location needs exactly one of header, queryParameter and cookie (found 2)"}},
		{"jwt location without name", policy(`  traffic:
    jwtAuthentication:
      location: {queryParameter: {}}
      providers: [{issuer: a, jwks: {inline: '` + inlineKey + `'}}]
`), []string{"spec.traffic.jwtAuthentication.location.queryParameter.name: location.queryParameter needs a name"}},
		{"jwt mcp", policy(`  traffic:
    jwtAuthentication:
      mode: Optional
      providers: [{issuer: a, jwks: {inline: '` + inlineKey + `'}}]
      mcp: {provider: Keycloak}
`), []string{"spec.traffic.jwtAuthentication.mcp: jwtAuthentication.mcp needs mode Strict, not Optional"}},
		{"jwt mcp with two providers", policy(`  traffic:
    jwtAuthentication:
      providers: [{issuer: a, jwks: {inline: '` + inlineKey + `'}}, {issuer: b, jwks: {inline: '` + inlineKey + `'}}]
      mcp: {provider: Keycloak}
`), []string{"spec.traffic.jwtAuthentication.mcp: jwtAuthentication.mcp needs exactly one provider, not 2"}},
		{"tracing", policy(`  frontend:
    tracing:
      backendRef: {name: svc, port: 8080}
      protocol: HTTP
      path: v1/traces
      randomSampling: 'request.headers["x"] == "y"'
      clientSampling: "2"
`), []string{
			`spec.frontend.tracing.path: tracing path "v1/traces" must start with /`,
			`spec.frontend.tracing.randomSampling: sampling "request.headers[\"x\"] == \"y\"": only the literals true, false or a number in [0, 1] are supported`,
			`spec.frontend.tracing.clientSampling: sampling "2": must be within [0, 1]`,
		}},
		{"phase", policy(`  traffic:
    phase: Early
    rateLimit: {local: [{requests: 1, unit: Seconds}]}
`), []string{`spec.traffic.phase: unknown value "Early" (PostRouting, PreRouting)`}},
		{"tracing protocol", policy(`  frontend:
    tracing: {backendRef: {name: svc, port: 8080}, protocol: grpc}
`), []string{`spec.frontend.tracing.protocol: unknown tracing protocol "grpc" (GRPC, HTTP)`}},
		{"pool failure mode", `
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool, namespace: a}
spec:
  selector: {matchLabels: {app: m}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: epp, port: {number: 9002}, failureMode: FailSometimes}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool}]}]
`, []string{`spec.endpointPickerRef.failureMode: unknown value "FailSometimes" (FailClose, FailOpen)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, fs := Compile(parse(t, gw+tc.src), Options{})
			var errs []string
			for _, f := range fs {
				if f.Severity == finding.Error {
					errs = append(errs, f.Field+": "+f.Message)
				}
				if f.Line == 0 || f.File != "test.yaml" {
					t.Errorf("finding without position: %s", f)
				}
			}
			all := strings.Join(errs, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("missing error %q in:\n%s", w, all)
				}
			}
		})
	}
}

// The supported transformation values compile into the forms the dataplane evaluates.
func TestHeaderExpressionsCompile(t *testing.T) {
	cfg := compileOK(t, gw+policy(`  traffic:
    transformation:
      request:
        set:
        - {name: x-model, value: 'string(json(request.body).model)'}
        - {name: x-tier, value: 'json( request.body ).meta.tier'}
        add:
        - {name: x-a, value: '"double"'}
        - {name: x-b, value: "'single'"}
`), Options{})
	tr := cfg.Listeners[0].Policy.Transformation
	if len(tr.Set) != 2 || tr.Set[0].BodyField != "model" || tr.Set[1].BodyField != "meta.tier" || tr.Set[0].Literal != nil {
		t.Errorf("set = %+v", tr.Set)
	}
	if len(tr.Add) != 2 || tr.Add[0].Literal == nil || *tr.Add[0].Literal != "double" || *tr.Add[1].Literal != "single" || tr.Add[1].BodyField != "" {
		t.Errorf("add = %+v", tr.Add)
	}
}
