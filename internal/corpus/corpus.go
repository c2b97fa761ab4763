// Package corpus generates a deterministic corpus of Kubernetes manifests of mixed kinds
// (Gateway API, agentgateway, InferencePool, ExternalSecret and built-ins), a tenth of them
// invalid, for benchmarking validators against each other.
package corpus

import (
	"fmt"
	"strings"
)

// File is one generated manifest file.
type File struct {
	Name string
	Data []byte
}

// Stats counts what Generate produced.
type Stats struct {
	Documents, Invalid, BuiltIn int
}

// PerFile is the number of documents in each file.
const PerFile = 20

// Generate returns n documents in files of PerFile documents. One document in ten (of every kind) carries one
// mistake a validator should catch (unknown field, enum, CEL rule, type, pattern).
func Generate(n int) ([]File, Stats) {
	var files []File
	var st Stats
	var b strings.Builder
	for i := 0; i < n; i++ {
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		ns := fmt.Sprintf("team-%d", i%37)
		bad := (i/len(templates))%10 == 3
		kind := i % len(templates)
		doc := templates[kind](i, ns, bad)
		b.WriteString(doc)
		st.Documents++
		if bad {
			st.Invalid++
		}
		if builtinTemplates[kind] {
			st.BuiltIn++
		}
		if (i+1)%PerFile == 0 || i == n-1 {
			files = append(files, File{Name: fmt.Sprintf("manifests-%04d.yaml", len(files)), Data: []byte(b.String())})
			b.Reset()
		}
	}
	return files, st
}

func pick(bad bool, good, wrong string) string {
	if bad {
		return wrong
	}
	return good
}

var builtinTemplates = map[int]bool{4: true, 5: true, 6: true}

var templates = []func(i int, ns string, bad bool) string{
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-%d, namespace: %s}
spec:
  parentRefs:
  - {name: gw, namespace: inference}
  hostnames: [api-%d.example.com]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /v1}
      headers:
      - {name: X-Gateway-Base-Model-Name, value: model-%d}
    backendRefs:
    - {name: svc-%d%s}
    timeouts: {request: 300s}
`, i, ns, i, i, i, pick(bad, ", port: 8000", ""))
	},
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: authn-%d, namespace: %s}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: route-%d}
  traffic:
    jwtAuthentication:
      mode: Strict
      providers:
      - issuer: https://auth.example.com
        audiences: [client-%d]
        jwks:
          remote:
            jwksPath: /keys
            cacheDuration: %s
            backendRef: {name: dex, namespace: dex, port: 5556}
`, i, ns, i, i, pick(bad, "10m", "1m"))
	},
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: limit-%d, namespace: %s}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: route-%d}
  traffic:
    rateLimit:
      local:
      - {requests: %d, unit: %s, burst: 5}
`, i, ns, i, 5+i%50, pick(bad, "Seconds", "second"))
	},
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: backend-%d, namespace: %s}
spec:
  ai:
    provider:
      anthropic: {model: claude-haiku-4-5}
%s  policies:
    auth:
      secretRef: {name: key-%d}
`, i, ns, pick(bad, "", "      openai: {model: gpt-4o}\n"), i)
	},
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: svc-%d, namespace: %s, labels: {app: svc-%d}}
spec:
  selector: {app: svc-%d}
  ports:
  - {name: http, port: %s, targetPort: 8000, appProtocol: agentgateway.dev/mcp}
`, i, ns, i, i, pick(bad, "8000", `"eight"`))
	},
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app-%d, namespace: %s}
spec:
  replicas: 2
  selector: {matchLabels: {app: app-%d}}
  template:
    metadata: {labels: {app: app-%d}}
    spec:
      containers:
      - name: app
        image: registry.example.com/app:%d
        %s: [{containerPort: 8000}]
`, i, ns, i, i, i, pick(bad, "ports", "portz"))
	},
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: %s, namespace: %s}
data: {key: value-%d}
`, pick(bad, fmt.Sprintf("config-%d", i), fmt.Sprintf("Config_%d", i)), ns, i)
	},
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool-%d, namespace: %s}
spec:
  selector: {matchLabels: {app: vllm-%d}}
  targetPorts: [{number: 8000}%s]
  endpointPickerRef: {name: epp-%d, port: {number: 9002}}
`, i, ns, i, pick(bad, "", ", {number: 8000}"), i)
	},
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-%d, namespace: %s}
spec:
  gatewayClassName: agentgateway
  listeners:
  - {name: http, protocol: HTTP, port: 80}
  - {name: %s, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: cert-%d}]}}
`, i, ns, pick(bad, "https", "http"), i)
	},
	func(i int, ns string, bad bool) string {
		return fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: key-%d, namespace: %s}
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: %s, name: secret-store}
  target: {name: key-%d}
  data:
  - secretKey: Authorization
    remoteRef: {key: key-%d}
`, i, ns, pick(bad, "ClusterSecretStore", "GlobalStore"), i, i)
	},
}
