// Package platform reads the platform config: which feature groups are on and the knobs the
// groups use, gwctl's own keys checked by schema and other tools' keys passed through. Precedence
// is flags > environment (GWCTL_…) > file > defaults; with no file the bundled example platform's
// defaults apply, with every optional feature off.
package platform

// RulesKey is the section gwctl validate reads its rules config from (as .gwctl.yaml holds it);
// the schema checks its shape, pkg/validate its rule ids.
const RulesKey = "validate"

// Config is the resolved platform config.
type Config struct {
	// Environment names the cluster environment (clusters/<environment>/… in a platform repo).
	Environment       string          `mapstructure:"environment" json:"environment"`
	KubernetesVersion string          `mapstructure:"kubernetesVersion" json:"kubernetesVersion"`
	Features          map[string]bool `mapstructure:"features" json:"features"`
	// CatalogPath is the template of each group's catalogPath in the generated groups file.
	CatalogPath   string        `mapstructure:"catalogPath" json:"catalogPath"`
	SecretStore   SecretStore   `mapstructure:"secretStore" json:"secretStore"`
	Gateway       Gateway       `mapstructure:"gateway" json:"gateway"`
	Dataplane     Dataplane     `mapstructure:"dataplane" json:"dataplane"`
	Pool          Pool          `mapstructure:"pool" json:"pool"`
	Egress        Egress        `mapstructure:"egress" json:"egress"`
	Identity      Identity      `mapstructure:"identity" json:"identity"`
	MCP           MCP           `mapstructure:"mcp" json:"mcp"`
	Observability Observability `mapstructure:"observability" json:"observability"`

	// Explicit lists the features whose value was set by a file, the environment or a flag
	// (not a default): a required group whose flag is explicitly off is an error.
	Explicit map[string]bool `mapstructure:"-" json:"-"`
	// Knobs is every setting, keys as written, foreign keys included: what catalog conditions
	// read by dotted key (Lookup, Knob).
	Knobs map[string]any `mapstructure:"-" json:"-"`
	// Source is the config file read, or "" for the bundled defaults.
	Source string `mapstructure:"-" json:"-"`
	// Warnings are problems that do not stop the run (a foreign key that looks like a typo of
	// one gwctl owns, an environment variable that names no key), in a stable order.
	Warnings []string `mapstructure:"-" json:"-"`
}

// SecretStore is the External Secrets store provider keys come from.
type SecretStore struct {
	Name string `mapstructure:"name" json:"name"`
	Kind string `mapstructure:"kind" json:"kind"`
}

// Gateway is the shared Gateway every route attaches to.
type Gateway struct {
	Name      string `mapstructure:"name" json:"name"`
	Namespace string `mapstructure:"namespace" json:"namespace"`
	ClassName string `mapstructure:"className" json:"className"`
	Port      int    `mapstructure:"port" json:"port"`
	// PublicURL is scheme://host[:port] clients reach the Gateway at; MCP challenge and
	// protected-resource metadata URLs are built on it instead of the request's Host.
	PublicURL string `mapstructure:"publicURL" json:"publicURL"`
	// TLS adds an HTTPS listener whose certificate cert-manager issues.
	TLS GatewayTLS `mapstructure:"tls" json:"tls"`
}

// GatewayTLS turns HTTPS on for the shared Gateway: a cert-manager Certificate for Hostname,
// signed by Issuer, written to the Secret SecretName in the dataplane's namespace (the pod
// mounts it; a ReferenceGrant lets the Gateway refer to it), and an HTTPS listener on Port.
// An empty Issuer leaves HTTPS off.
type GatewayTLS struct {
	Issuer     string `mapstructure:"issuer" json:"issuer"`
	IssuerKind string `mapstructure:"issuerKind" json:"issuerKind"`
	SecretName string `mapstructure:"secretName" json:"secretName"`
	Hostname   string `mapstructure:"hostname" json:"hostname"`
	Port       int    `mapstructure:"port" json:"port"`
}

// Dataplane is the bundled gateway binary's deployment.
type Dataplane struct {
	// Namespace runs the dataplane; provider Secrets (and so the egress backend) live here too,
	// since a pod mounts Secrets of its own namespace only.
	Namespace string `mapstructure:"namespace" json:"namespace"`
	// Image defaults to DefaultImage(): the dataplane image of the gwctl release rendering it.
	Image    string `mapstructure:"image" json:"image"`
	Replicas int    `mapstructure:"replicas" json:"replicas"`
	// ControllerName is the GatewayClass controllerName the dataplane serves: the bundled
	// GatewayClass claims it and the dataplane acts on no other class's Gateways.
	ControllerName string `mapstructure:"controllerName" json:"controllerName"`
	// Mode is where the dataplane reads the gateway resources: "file" (the ConfigMap gwctl
	// render fills, the default) or "kubernetes" (the API server, with status written back;
	// the chart then renders its RBAC and Lease).
	Mode string `mapstructure:"mode" json:"mode"`
	// GatewayPorts, in kubernetes mode, is a pod port range ("20000-20999") that gives each
	// Gateway its own address (a Service per Gateway); empty serves every Gateway on the
	// dataplane Service's.
	GatewayPorts string `mapstructure:"gatewayPorts" json:"gatewayPorts"`
}

// Pool is the InferencePool of self-hosted vLLM servers.
type Pool struct {
	Name       string       `mapstructure:"name" json:"name"`
	TargetPort int          `mapstructure:"targetPort" json:"targetPort"`
	App        string       `mapstructure:"app" json:"app"`
	Models     []LocalModel `mapstructure:"models" json:"models"`
	// Picker is who picks the endpoint: in-process (the dataplane's own picker; the pool is
	// annotated so the dataplane does not call its endpointPickerRef) or endpoint-picker (the
	// dataplane calls the Service <name>-epp:9002 over ext_proc, e.g. llm-d's scheduler).
	Picker string `mapstructure:"picker" json:"picker"`
}

// LocalModel is a model served by the pool, routed on X-Gateway-Base-Model-Name.
type LocalModel struct {
	Name string `mapstructure:"name" json:"name"`
}

// Egress is the external provider route.
type Egress struct {
	Model string `mapstructure:"model" json:"model"`
	// Alias is the LiteLLM model name that maps to Model.
	Alias string `mapstructure:"alias" json:"alias"`
	// Host and Port override the provider's endpoint (a proxy, or a local test double); empty
	// Host keeps api.anthropic.com.
	Host string `mapstructure:"host" json:"host"`
	Port int    `mapstructure:"port" json:"port"`
}

// Identity is the OIDC issuer MCP tokens come from.
type Identity struct {
	Namespace string `mapstructure:"namespace" json:"namespace"`
	Issuer    string `mapstructure:"issuer" json:"issuer"`
	Audience  string `mapstructure:"audience" json:"audience"`
	// JWKSPath is where the issuer's Service serves its key set (Dex: /keys).
	JWKSPath string `mapstructure:"jwksPath" json:"jwksPath"`
	// Port is the issuer Service's port.
	Port int `mapstructure:"port" json:"port"`
}

// MCP is the tool plane.
type MCP struct {
	Namespace string `mapstructure:"namespace" json:"namespace"`
	// Requests refilled each second, and Bucket the most a client burst may spend at once
	// (Envoy's meaning of "burst"). agentgateway adds its burst to requests, so the render
	// writes burst: Bucket-Requests.
	Requests int `mapstructure:"requests" json:"requests"`
	Bucket   int `mapstructure:"bucket" json:"bucket"`
}

// Observability is the OTLP collector and gateway tracing.
type Observability struct {
	// RandomSampling is the CEL sampling expression: a ratio such as "0.1", or "true".
	RandomSampling string `mapstructure:"randomSampling" json:"randomSampling"`
}

// Defaults are the bundled example platform's settings.
func Defaults() map[string]any {
	return map[string]any{
		"environment":       "example",
		"kubernetesVersion": "v1.34.0",
		"catalogPath":       "clusters/{{ .Environment }}/catalog/{{ .Group }}",
		"secretStore":       map[string]any{"name": "", "kind": "ClusterSecretStore"},
		"gateway": map[string]any{"name": "inference-gateway", "namespace": "inference", "className": "gwctl", "port": int64(80), "publicURL": "",
			"tls": map[string]any{"issuer": "", "issuerKind": "ClusterIssuer", "secretName": "gateway-tls", "hostname": "", "port": int64(443)}},
		"dataplane": map[string]any{"namespace": "agentgateway-system", "image": DefaultImage(), "replicas": int64(2),
			"controllerName": "gwctl.infergw.dev/dataplane", "mode": "file", "gatewayPorts": ""},
		"pool": map[string]any{"name": "vllm", "targetPort": int64(8000), "app": "vllm", "picker": "in-process",
			"models": []any{map[string]any{"name": "llama-3-8b-instruct"}}},
		"egress":        map[string]any{"model": "claude-haiku-4-5", "alias": "claude-haiku", "host": "", "port": int64(443)},
		"identity":      map[string]any{"namespace": "dex", "issuer": "https://auth.example.com", "audience": "mcp-client", "jwksPath": "/keys", "port": int64(5556)},
		"mcp":           map[string]any{"namespace": "mcp", "requests": int64(5), "bucket": int64(10)},
		"observability": map[string]any{"randomSampling": "0.1"},
	}
}
