// Package gateway compiles Kubernetes gateway resources (Gateway, HTTPRoute, AgentgatewayBackend,
// AgentgatewayPolicy, InferencePool, ReferenceGrant, Service) into the dataplane's immutable
// runtime model, and reports as findings whatever the dataplane could not serve.
package gateway

// One reader
//
// It is the one place that interprets those resources: `gwctl validate` calls Compile to say
// "the dataplane accepts this", and the dataplane calls it on every (re)load.
