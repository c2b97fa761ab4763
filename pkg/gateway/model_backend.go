package gateway

import "time"

// BackendKind says which handler serves a backend.
type BackendKind string

// Backend kinds. AI, MCP and InferencePool handlers live in other dataplane packages.
const (
	KindService       BackendKind = "Service"
	KindAI            BackendKind = "AI"            // AgentgatewayBackend spec.ai
	KindMCP           BackendKind = "MCP"           // AgentgatewayBackend spec.mcp
	KindStatic        BackendKind = "Static"        // AgentgatewayBackend spec.static
	KindInferencePool BackendKind = "InferencePool" // inference.networking.k8s.io InferencePool
)

// Backend is one thing a route sends requests to.
type Backend struct {
	// ID is unique within a Config: kind/namespace/name, plus :port for Services.
	ID        string
	Kind      BackendKind
	Namespace string
	Name      string

	Service *ServiceBackend // KindService
	Static  *StaticBackend  // KindStatic
	AI      *AIBackend      // KindAI
	MCP     *MCPBackend     // KindMCP
	Pool    *PoolBackend    // KindInferencePool

	// Auth is spec.policies.auth of an AgentgatewayBackend, overlaid by backend.auth of policies.
	Auth *BackendAuth
	// Policy is the traffic policy attached to the backend itself (InferencePool targets).
	Policy *TrafficPolicy
	// MCPAuthorization is backend.mcp.authorization from policies targeting the backend.
	MCPAuthorization *MCPAuthorization
	// TLS, when set, is how the gateway speaks TLS to the backend (BackendTLSPolicy, policies.tls
	// or an AgentgatewayPolicy backend.tls); nil is plain HTTP (AI providers' own endpoints
	// always use TLS).
	TLS *UpstreamTLS `json:",omitempty"`
}

// ServiceBackend is a Kubernetes Service port.
type ServiceBackend struct {
	Name, Namespace string
	Port            int32
	// Address is host:port: an Options.Resolve override, else name.namespace.svc.<domain>:port.
	Address string
	// AppProtocol is the Service port's appProtocol, if set.
	AppProtocol string
}

// StaticBackend is an AgentgatewayBackend spec.static host and port.
type StaticBackend struct {
	Address string // host:port
}

// AIBackend is AgentgatewayBackend spec.ai with a single provider (spec.ai.groups are
// compiled into Groups; Provider is then the first provider of the first group).
type AIBackend struct {
	Provider AIProvider
	// Groups are priority groups: the first group with a healthy provider serves.
	Groups [][]AIProvider
	// Routes is spec.policies.ai.routes: path suffix -> Completions|Messages|Models|Passthrough|...
	Routes map[string]string
}

// AIProvider is one LLM provider.
type AIProvider struct {
	// Name is the group entry's name ("" for spec.ai.provider).
	Name string
	// Type is openai, anthropic, azureopenai, azure, gemini, vertexai or bedrock.
	Type string
	// Model overrides the request's model when set.
	Model string
	// Host and Port override the provider's default upstream (both or neither).
	Host string
	Port int32
	// Path replaces the upstream path; PathPrefix replaces the provider's base path.
	Path, PathPrefix string
	// Fields holds the provider block's other fields as written (e.g. azure endpoint), for handlers.
	Fields map[string]any
	// Auth is the provider entry's own policies.auth, when set (groups only).
	Auth *BackendAuth
}

// BackendAuth is how the gateway authenticates to an upstream.
type BackendAuth struct {
	// SecretRef is the Secret (same namespace as the backend) whose key "Authorization" holds
	// the credential; read through the dataplane's secrets directory.
	SecretRef string
	// InlineKey is policies.auth.key. It is a secret: never log it (JSON leaves it out).
	InlineKey string `json:"-"`
	// Passthrough forwards the client's credential.
	Passthrough bool
	// Location, when set, is where the credential goes (header name and prefix).
	HeaderName, HeaderPrefix string
}

// MCPBackend is AgentgatewayBackend spec.mcp.
type MCPBackend struct {
	// Stateless is sessionRouting: Stateless.
	Stateless bool
	// FailOpen is failureMode: FailOpen (a failing target is left out instead of failing the session).
	FailOpen bool
	Targets  []MCPTarget
}

// MCPTarget is one upstream MCP server, after expanding selectors into Service ports.
type MCPTarget struct {
	// Name is the static target's name, or <service>-<portName|port> for selector targets.
	Name string
	// Address is host:port.
	Address string
	// Path is the MCP endpoint path (default /mcp, or /sse for SSE).
	Path string
	// Protocol is StreamableHTTP or SSE.
	Protocol string
	// TLS, when set, is the TLS of this target (a BackendTLSPolicy on its Service, else the
	// backend's policies.tls); nil is plain HTTP.
	TLS *UpstreamTLS `json:",omitempty"`
}

// PoolBackend is an InferencePool.
type PoolBackend struct {
	// Selector is spec.selector.matchLabels (pods in the pool's namespace).
	Selector map[string]string
	// TargetPorts are the model server ports on each pod.
	TargetPorts []int32
	// AppProtocol is http or kubernetes.io/h2c.
	AppProtocol string
	// Picker is the endpoint picker extension, nil when not set.
	Picker *EndpointPicker
}

// EndpointPicker is spec.endpointPickerRef. The dataplane calls the picker Service over ext_proc
// when Service.Address is set; otherwise its in-process picker decides (no reference, or the
// pool's annotation gwctl.infergw.dev/endpoint-picker: in-process).
type EndpointPicker struct {
	Service ServiceBackend
	// FailOpen is failureMode FailOpen (default FailClose).
	FailOpen bool
	// InProcess is set by the annotation: the reference is kept for other gateways, not called.
	InProcess bool
}

// External reports whether the dataplane calls the picker Service.
func (p *EndpointPicker) External() bool {
	return p != nil && !p.InProcess && p.Service.Address != ""
}

// MCPAuthorization filters MCP list results and denies calls by CEL expressions.
type MCPAuthorization struct {
	Action      string // Allow (default), Deny or Require
	Expressions []string
}

// Tracing is frontend.tracing: where spans go and how they are sampled.
type Tracing struct {
	// Endpoint is host:port of the OTLP collector.
	Endpoint string
	Protocol string // GRPC (default) or HTTP
	Path     string // HTTP only, default /v1/traces
	// RandomSampling and ClientSampling are CEL strings ("0.1", "true"); empty = unset.
	RandomSampling, ClientSampling string
	Policy                         NamespacedName
}

// TrafficPolicy is the merged traffic section of the policies in effect at one place.
type TrafficPolicy struct {
	JWT       *JWTAuthentication
	RateLimit *RateLimit
	// Transformation is traffic.transformation.request (e.g. the body-based-routing header).
	Transformation *Transformation
	// Sources names the policies that contributed, for logs.
	Sources []NamespacedName
}

// Empty reports whether the policy does nothing.
func (p *TrafficPolicy) Empty() bool {
	return p == nil || (p.JWT == nil && p.RateLimit == nil && p.Transformation == nil)
}

// JWTAuthentication is traffic.jwtAuthentication.
type JWTAuthentication struct {
	Mode      string // Strict (default), Optional, Permissive
	Providers []JWTProvider
	// Location: where the token is read from. Default header Authorization, prefix "Bearer ".
	HeaderName, HeaderPrefix, QueryParameter, Cookie string
	// MCP, when set, turns on OAuth protected-resource metadata.
	MCP    *JWTMCP
	Policy NamespacedName
}

// JWTProvider is one accepted issuer.
type JWTProvider struct {
	Issuer    string
	Audiences []string
	// InlineJWKS is the JWKS JSON when jwks.inline is used.
	InlineJWKS string
	// JWKSURL is the remote JWKS: http://<service address>/<jwksPath>.
	JWKSURL string
	// CacheDuration is how often the remote JWKS is refreshed (default 5m).
	CacheDuration time.Duration
	// JWKSTLS, when set (a BackendTLSPolicy on the JWKS Service), makes JWKSURL https.
	JWKSTLS *UpstreamTLS `json:",omitempty"`
}

// JWTMCP is jwtAuthentication.mcp.
type JWTMCP struct {
	ResourceMetadata map[string]any
	Provider         string
}

// RateLimit is traffic.rateLimit.
type RateLimit struct {
	Local  []LocalLimit
	Policy NamespacedName
}

// LocalLimit is one local[] item, as an effective bucket.
type LocalLimit struct {
	// Tokens is true for LLM-token limits, false for request limits.
	Tokens bool
	// Rate is the refill: Rate units per Per.
	Rate int64
	Per  time.Duration
	// Capacity is the bucket size: requests (or tokens) + burst.
	Capacity int64
	// Key is namespace/policy/index, unique per item, for one bucket per item per replica.
	Key string
}

// Transformation is traffic.transformation.request.
type Transformation struct {
	Set, Add []HeaderExpression
	Remove   []string
}

// HeaderExpression is a header whose value is a CEL expression, compiled into a form this
// dataplane evaluates: Compile sets exactly one of Literal and BodyField, or reports the
// expression as unsupported.
type HeaderExpression struct {
	Name, Expression string
	// Literal is the value of a string literal ("x" or 'x').
	Literal *string `json:",omitempty"`
	// BodyField is the dotted field path json(request.body).<field> reads (string(...) or not).
	BodyField string `json:",omitempty"`
}
