// Package validate checks Kubernetes manifests offline the way the API server and the dataplane
// would: each object against its schema, then the whole set (references, lints, duplicates) and
// the dataplane's own compiler (pkg/gateway), returning findings with their file and line.
package validate

// How validate is built
//
// Each noun is a subpackage, as in kubeconform: registry (schemas by group/version/kind), schema
// (the custom-resource pipeline, with celnative), builtin (built-in kinds), objects (the whole
// input, indexed, and the relations the set checks share), refs (references across objects),
// lint (agentgateway semantics) and controls (which controls each route gets). This package
// holds Options, Validate, the agentgateway and inference-extension versions, rule tuning and
// the open/closed world.
//
// Schemas come from the embedded sets (package schemas: upstream releases' CRDs, derived by make
// schemas): Gateway API's standard channel, the agentgateway release targeted (v1.2.1, v1.3.1 or
// v1.4.1), the inference extension's InferencePool (v1.6.0, or v1.5.0), External Secrets, Argo CD
// and cert-manager; they are replaced per kind by CRDs found in Options.CRDDirs or in the input.
// An embedded CRD is read when a resource of its kind first needs it. Built-in kinds are decoded
// strictly into their k8s.io/api types. Each CRD version compiles once, on first use; documents
// validate in parallel.
//
// The custom-resource pipeline is kube-apiserver's create pipeline: structural schemas, the CEL
// programs and the errors come from apiextensions-apiserver and kube-openapi, while the walks
// over each object (pruning, defaulting, the OpenAPI checks, list types, CEL evaluation) are
// gwctl's compiled versions of theirs. A rule that holds is answered by celnative (the rule
// compiled to Go closures, with an upper bound of cel-go's cost); every other rule is decided by
// cel-go with the API server's programs, which write the messages. apiserver_test.go holds all
// of it to the same errors and defaults as the upstream code.
//
//	v, err := validate.New(validate.Options{AgentgatewayVersion: "v1.2.1"})
//	objs, err := manifest.Load(paths, os.Stdin, manifest.DefaultLimits)
//	findings := v.Validate(ctx, objs)
//	err = report.Write(os.Stdout, "text", findings, v.Summarize(objs, findings))
