package main

import "github.com/infergw/gwctl/schemas"

// A source is one upstream release's CRDs: from a folder of the reference folder (Ref, whose
// SOURCE.txt must name Version) or from a Go module's zip (Module at Version; an empty Version is
// the one go.mod pins). Files are globs relative to Under, inside that folder or module.
type source struct {
	Name     string
	Version  string
	Upstream string
	License  string
	Ref      string
	Module   string
	Under    string
	Files    []string
}

// kind says, for SOURCE.yaml, what the derivation keeps and drops.
const kind = "CustomResourceDefinition: comments, every schema's description (not a property named description) " +
	"and the descriptions of printer columns dropped; structure, types, formats, enums, patterns, bounds, " +
	"required lists, list and map types, defaults, x-kubernetes-* and CEL rules with their messages kept; keys sorted; " +
	"one file per CRD, named <group>_<plural>.yaml"

// sources lists what gwctl embeds; make schemas writes nothing else. Versions of one upstream
// are in release order.
var sources = []source{
	{
		Name: schemas.GatewayAPI, Upstream: "sigs.k8s.io/gateway-api", License: "Apache-2.0",
		Module: "sigs.k8s.io/gateway-api", Under: "config/crd/standard", Files: []string{"gateway.networking.k8s.io_*.yaml"},
	},
	{
		Name: schemas.Agentgateway, Version: "v1.2.1", Upstream: "github.com/agentgateway/agentgateway", License: "Apache-2.0",
		Ref: "agentgateway-v1.2.1", Files: []string{"agentgateway.dev_*.yaml"},
	},
	{
		Name: schemas.Agentgateway, Version: "v1.3.1", Upstream: "github.com/agentgateway/agentgateway", License: "Apache-2.0",
		Ref: "agentgateway-v1.3.1", Files: []string{"agentgateway.dev_*.yaml"},
	},
	{
		Name: schemas.Agentgateway, Version: "v1.4.1", Upstream: "github.com/agentgateway/agentgateway", License: "Apache-2.0",
		Ref: "agentgateway-v1.4.1", Files: []string{"agentgateway.dev_*.yaml"},
	},
	{
		Name: schemas.InferenceExtension, Version: "v1.5.0", Upstream: "sigs.k8s.io/gateway-api-inference-extension", License: "Apache-2.0",
		Module: "sigs.k8s.io/gateway-api-inference-extension", Under: "config/crd/bases", Files: []string{"inference.networking.k8s.io_inferencepools.yaml"},
	},
	{
		Name: schemas.InferenceExtension, Version: "v1.6.0", Upstream: "sigs.k8s.io/gateway-api-inference-extension", License: "Apache-2.0",
		Ref: "gie", Files: []string{"inference.networking.k8s.io_inferencepools.v1.6.0.yaml"},
	},
	{
		Name: schemas.ExternalSecrets, Version: "v2.9.0", Upstream: "github.com/external-secrets/external-secrets", License: "Apache-2.0",
		Ref: "external-secrets-v2.9.0", Files: []string{"external-secrets.io_externalsecrets.yaml", "external-secrets.io_clusterexternalsecrets.yaml",
			"external-secrets.io_secretstores.yaml", "external-secrets.io_clustersecretstores.yaml"},
	},
	// Argo CD v3.6 needs Go 1.27 to download with the go command; v3.5 is a supported release.
	{
		Name: schemas.ArgoCD, Version: "v3.5.8", Upstream: "github.com/argoproj/argo-cd", License: "Apache-2.0",
		Module: "github.com/argoproj/argo-cd/v3", Under: "manifests/crds", Files: []string{"*-crd.yaml"},
	},
	// The kinds users write; ACME orders and challenges are the controller's.
	{
		Name: schemas.CertManager, Version: "v1.21.2", Upstream: "github.com/cert-manager/cert-manager", License: "Apache-2.0",
		Module: "github.com/cert-manager/cert-manager", Under: "deploy/crds", Files: []string{"cert-manager.io_*.yaml"},
	},
}
