package finding

import (
	"slices"
	"strings"
)

// Rule describes one rule id: the severity its findings usually have and what it checks. The
// registry lists every rule any stage emits, so users can list, tune and suppress them by id.
type Rule struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Description is one line; it says when the severity differs from the default.
	Description string `json:"description"`
}

// Rule ids of the tuning stage itself.
const (
	RuleIgnoreWithoutReason = "lint/ignore-without-reason"
	RuleIgnoreUnknownRule   = "lint/ignore-unknown-rule"
)

var registry = []Rule{
	{"builtin/invalid", Error, "a built-in kind (Service, Deployment, Secret, ...) that strict decoding or Kubernetes' name rules reject"},
	{"gateway.backend-auth", Error, "the dataplane compiler rejects a backend's auth policy"},
	{"gateway.backend-kind", Error, "the dataplane compiler cannot route to a backendRef of this kind"},
	{"gateway.backend-ref", Error, "the dataplane compiler cannot resolve a backendRef"},
	{"gateway.certificate", Error, "a listener's certificate the dataplane cannot serve: missing keys, malformed, a key that does not match, expired (warning when the Secret is not in the input)"},
	{"gateway.ca-certificate", Error, "a CA certificate reference (client validation of an HTTPS listener, a BackendTLSPolicy) that does not resolve: the listener is left out, the backend's handshakes fail"},
	{"gateway.certificate-hostname", Warning, "no certificate of an HTTPS listener covers the listener's hostname"},
	{"gateway.duplicate", Error, "the dataplane compiler sees two objects with one name"},
	{"gateway.endpoint-picker", Info, "which endpoint picker serves an InferencePool: the in-process picker, or the endpointPickerRef Service over ext_proc"},
	{"gateway.expression", Error, "the dataplane compiler rejects a CEL expression"},
	{"gateway.hostname", Error, "the dataplane compiler rejects a hostname"},
	{"gateway.parent-ref", Error, "the dataplane compiler cannot attach a route to its parent"},
	{"gateway.policy", Error, "the dataplane compiler rejects a policy (warning when it only ignores part of it)"},
	{"gateway.policy-target", Error, "the dataplane compiler cannot find a policy's target"},
	{"gateway.reference-grant", Error, "the dataplane compiler refuses a cross-namespace reference without a ReferenceGrant"},
	{"gateway.regex", Error, "the dataplane compiler rejects a regular expression"},
	{"gateway.timeout", Error, "the dataplane compiler rejects a timeout"},
	{"gateway.tls", Error, "TLS settings the dataplane cannot apply: listeners sharing a port, a BackendTLSPolicy or TLS policy it cannot verify with (warning for insecureSkipVerify)"},
	{"gateway.type", Error, "the dataplane compiler rejects a field's type or value"},
	{"gateway.unsupported", Warning, "a kind or field the dataplane does not serve: ignored"},
	{"input/helm-chart", Info, "a Helm chart directory: its templates are not manifests until rendered; skipped"},
	{"input/kustomization", Info, "a Kustomize file or a patch it names: not a resource; skipped"},
	{"input/kustomize-build", Error, "a kustomization given with -k that cannot be built: a remote base or URL (never fetched), a missing file, a Kustomize error"},
	{"input/not-a-manifest", Info, "a file with no apiVersion or kind (Helm values, another tool's config); skipped"},
	{"input/parse", Error, "a file that cannot be read as manifests (YAML syntax, a duplicate key, a limit)"},
	{"lint/ai-messages-routes", Warning, "/v1/messages sent to an AI backend without policies.ai.routes: parsed as OpenAI completions"},
	{"lint/chart-tracing", Warning, "agentgateway chart tracing values the chart ignores"},
	{"lint/dex-audience", Warning, "a JWT audience that is a URL where Dex puts the OAuth client_id in aud"},
	{RuleIgnoreUnknownRule, Warning, "a gwctl.infergw.dev/ignore annotation naming a rule id that does not exist"},
	{RuleIgnoreWithoutReason, Warning, "a gwctl.infergw.dev/ignore annotation without ' -- <reason>': nothing is suppressed"},
	{"lint/jwks-reachability", Info, "the controller fetches a remote JWKS in-cluster over plain HTTP: NetworkPolicies must allow it"},
	{"lint/mcp-authentication-deprecated", Warning, "backend.mcp.authentication is deprecated: use traffic.jwtAuthentication"},
	{"lint/mcp-provider", Warning, "mcp.provider set for an issuer (Dex) whose metadata endpoints it does not describe"},
	{"lint/model-header-unset", Warning, "a rule matches the model header but no PreRouting policy sets it from the body"},
	{"lint/ratelimit-bucket", Warning, "a local rate limit whose bucket (requests + burst) exceeds requests; info when burst is 0"},
	{"lint/ratelimit-negative-burst", Error, "a negative burst, which the controller wraps to a huge bucket"},
	{"lint/ratelimit-replicas", Warning, "a local rate limit multiplied by the Gateway's replicas"},
	{"metadata/invalid", Error, "metadata the API server rejects (names, labels, annotations)"},
	{"portable.backendref", Info, "--portable: a route backendRef to a non-Service backend"},
	{"portable.class", Info, "--portable: a GatewayClass or Gateway bound to one implementation"},
	{"portable.crd", Info, "--portable: an implementation's own resource"},
	{"portable.experimental", Info, "--portable: a field or kind outside the standard channel"},
	{"portable.filter", Info, "--portable: an ExtensionRef or non-standard route filter"},
	{"portable.tls", Info, "--portable: how a TLS setting carries over (HTTPS listeners: yes; BackendTLSPolicy: where supported; tls.options: no)"},
	{"portable.policy", Info, "--portable: a policy attachment section"},
	{"portable.regex", Info, "--portable: a RegularExpression match (implementation-specific dialect)"},
	{"portable.standby", Info, "--portable: whether a route has a standby route"},
	{"refs/backend-ref", Error, "a backendRef to a missing Service port or an unusable backend"},
	{"refs/gateway-class", Error, "a GatewayClass whose controller is not agentgateway's (warning for another implementation)"},
	{"refs/header-case", Warning, "header names in one match that differ only in case"},
	{"refs/jwks-backend", Error, "a remote JWKS backendRef that does not resolve to a usable Service"},
	{"refs/listener", Error, "a route that no listener of its parent Gateway admits"},
	{"refs/mcp-selector", Error, "an MCP selector that reaches no Service port with appProtocol MCP"},
	{"refs/model-header", Error, "rules with different backends (or no backend) for one model header value on a Gateway"},
	{"refs/parent-ref", Error, "a parentRef to a missing Gateway or listener"},
	{"refs/reference-grant", Error, "a cross-namespace reference without a ReferenceGrant"},
	{"refs/reference-grant-namespace", Warning, "a ReferenceGrant outside the namespace of its targets, as a kustomization namespace: leaves it"},
	{"refs/route-conflict", Error, "two routes on one Gateway with identical hostnames and matches"},
	{"refs/secret", Error, "a Secret that lacks the key its user reads"},
	{"refs/target-ref", Error, "a policy targetRef to a missing object or section"},
	{"refs/unresolved", Error, "a reference to an object not in the input (warning in an open world: files of a repo)"},
	{"schema/cel", Error, "a CEL validation rule of the CRD fails"},
	{"schema/cel-skipped", Info, "a CEL rule that could not be evaluated offline"},
	{"schema/compile", Error, "a CRD whose schema does not compile"},
	{"schema/decode", Error, "a document that cannot be decoded as its kind"},
	{"schema/duplicate", Error, "a duplicate list-map key"},
	{"schema/enum", Error, "a value outside the schema's enum"},
	{"schema/invalid", Error, "a value the structural schema rejects"},
	{"schema/missing", Error, "a kind with no schema (skipped with --ignore-missing-schemas)"},
	{"schema/required", Error, "a required field is missing"},
	{"schema/type", Error, "a value of the wrong type"},
	{"schema/unknown-field", Error, "a field the schema does not have (the API server drops or refuses it)"},
	{"set/duplicate-object", Error, "two objects with the same group, kind, namespace and name"},
	{"validate/cancelled", Error, "the run was cancelled before it finished"},
	{"version/field", Error, "a field or value that exists only in other agentgateway releases (warning when only newer ones may have it)"},
	{"version/inference-extension", Warning, "an InferencePool that an older Inference Extension release rejects"},
}

// Rules lists every registered rule, by id.
func Rules() []Rule {
	out := slices.Clone(registry)
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// LookupRule finds a registered rule.
func LookupRule(id string) (Rule, bool) {
	for _, r := range registry {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
