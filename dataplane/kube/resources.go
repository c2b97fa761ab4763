// Package kube is the dataplane's Kubernetes mode: informers on the API server feed the same
// pkg/gateway compile as the file mode, endpoints come from EndpointSlices and Pods, and the
// elected leader writes the Gateway API status of what it serves.
package kube

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resource is one kind the controller reads through the dynamic client and compiles.
type resource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
	// status: the leader writes its status subresource.
	status bool
	// optional kinds (CRDs that may not be installed) are skipped with a warning when the API
	// server does not serve them; the Gateway API core kinds are required.
	optional bool
}

var (
	gvrGatewayClass = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"}
	gvrGateway      = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	gvrHTTPRoute    = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	gvrRefGrant     = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "referencegrants"}
	gvrBackendTLS   = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "backendtlspolicies"}
	gvrBackend      = schema.GroupVersionResource{Group: "agentgateway.dev", Version: "v1alpha1", Resource: "agentgatewaybackends"}
	gvrPolicy       = schema.GroupVersionResource{Group: "agentgateway.dev", Version: "v1alpha1", Resource: "agentgatewaypolicies"}
	gvrPool         = schema.GroupVersionResource{Group: "inference.networking.k8s.io", Version: "v1", Resource: "inferencepools"}
	gvrService      = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrNamespace    = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrCRD          = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// compiled are the kinds compiled by pkg/gateway, in the order they are listed.
var compiled = []resource{
	{gvr: gvrGatewayClass, kind: "GatewayClass", status: true},
	{gvr: gvrGateway, kind: "Gateway", namespaced: true, status: true},
	{gvr: gvrHTTPRoute, kind: "HTTPRoute", namespaced: true, status: true},
	{gvr: gvrRefGrant, kind: "ReferenceGrant", namespaced: true, optional: true},
	{gvr: gvrBackendTLS, kind: "BackendTLSPolicy", namespaced: true, status: true, optional: true},
	{gvr: gvrBackend, kind: "AgentgatewayBackend", namespaced: true, optional: true},
	{gvr: gvrPolicy, kind: "AgentgatewayPolicy", namespaced: true, status: true, optional: true},
	{gvr: gvrPool, kind: "InferencePool", namespaced: true, status: true, optional: true},
	{gvr: gvrService, kind: "Service", namespaced: true},
	{gvr: gvrNamespace, kind: "Namespace"},
}

// Rule is one RBAC rule the dataplane needs in Kubernetes mode.
type Rule struct {
	APIGroup, Resource string
	Verbs              []string
	// ResourceNames limits the rule to these objects (empty: all).
	ResourceNames []string
	// Namespaced rules are granted by a Role in the dataplane's namespace, the others by a
	// ClusterRole.
	Namespaced bool
}

// CRDName is the CustomResourceDefinition whose bundle-version says which Gateway API release
// is installed (GatewayClass SupportedVersion).
const CRDName = "gateways.gateway.networking.k8s.io"

// Permissions are every API call Kubernetes mode makes: the informers (list, watch), the status
// writers (update on the status subresource), the Lease of the leader election and the CRD
// read. The chart's ClusterRole and Role grant exactly these (a test compares them).
func Permissions() []Rule {
	var out []Rule
	for _, r := range compiled {
		out = append(out, Rule{APIGroup: r.gvr.Group, Resource: r.gvr.Resource, Verbs: []string{"list", "watch"}})
		if r.status {
			out = append(out, Rule{APIGroup: r.gvr.Group, Resource: r.gvr.Resource + "/status", Verbs: []string{"update"}})
		}
	}
	return append(out,
		Rule{APIGroup: "discovery.k8s.io", Resource: "endpointslices", Verbs: []string{"list", "watch"}},
		Rule{APIGroup: "", Resource: "pods", Verbs: []string{"list", "watch"}},
		Rule{APIGroup: gvrCRD.Group, Resource: gvrCRD.Resource, Verbs: []string{"get"}, ResourceNames: []string{CRDName}},
		// Secrets: provider keys in the dataplane's namespace, and listener certificates in the
		// namespaces the Gateways name (not known when the chart renders, hence cluster-wide
		// rights); each watch is namespace-scoped, never all Secrets of the cluster. ConfigMaps
		// likewise: the CA bundles Gateways and BackendTLSPolicies name.
		Rule{APIGroup: "", Resource: "secrets", Verbs: []string{"list", "watch"}},
		Rule{APIGroup: "", Resource: "configmaps", Verbs: []string{"list", "watch"}},
		// Each Gateway's own Service (GatewayPorts), in the dataplane's namespace; reads come
		// from the Service informer.
		Rule{APIGroup: "", Resource: "services", Verbs: []string{"create", "update", "delete"}, Namespaced: true},
		// The chart renders the Lease, so the dataplane never creates one.
		Rule{APIGroup: "coordination.k8s.io", Resource: "leases", Verbs: []string{"get", "update"}, ResourceNames: []string{LeaseName}, Namespaced: true},
	)
}

// LeaseName is the coordination.k8s.io Lease the replicas elect their status writer with.
const LeaseName = "dataplane-status"
