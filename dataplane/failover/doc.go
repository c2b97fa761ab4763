// Package failover serves a route's backends as priority groups: the first group is the
// primary, later groups are fallbacks, and a request fails over to the next backend only before
// its first response byte reaches the client.
package failover

// How failover works
//
// # Resources
//
// A route is configured by agentgateway's own priority-group shape, so the same YAML means the
// same thing on agentgateway and on this dataplane:
//
//	apiVersion: agentgateway.dev/v1alpha1
//	kind: AgentgatewayBackend
//	spec:
//	  ai:
//	    groups:                 # 1..8 priority groups, in order: groups[0] primary, then fallbacks
//	    - providers:            # 1..16 providers per group, unique name; spread within the group
//	      - name: anthropic
//	        anthropic: {model: claude-haiku-4-5}
//	        policies: {auth: {secretRef: {name: anthropic-api-key}}}
//	    - providers:
//	      - name: openai-compatible
//	        openai: {model: gpt-4.1-mini}
//	        host: llm.example.net
//	        port: 443
//
// spec.ai.groups[i] becomes Config.Priorities[i] and spec.ai.groups[i].providers[j] becomes
// Config.Priorities[i][j] (Backend.Name = providers[j].name, Backend.Handler = the provider's
// translating handler). An HTTPRoute rule with several backendRefs to different backends (for
// example an AgentgatewayBackend and then an InferencePool) is not a priority list in Gateway
// API (it is weighted splitting) and is not served by this package.
//
// # Semantics
//
// Each backend handler translates the client's request for its own API, so failing over is
// replaying the original client request to the next handler. The request body is buffered up
// to Config.MaxBodyBytes; a larger body disables failover for that request. A backend's
// response is held until it commits a status: 5xx, a transport error reported with
// RecordError, an abort (panic(http.ErrAbortHandler)) or Config.AttemptTimeout passing
// without a status moves on to the next backend; the first 1xx-4xx status is sent to the
// client and from then on the request never fails over. A stream that breaks after that ends
// with an error event. Retries are bounded by a budget (Config.Budget) so a failing primary
// cannot multiply the load on the fallbacks.
//
// Backends fail passively (outlier detection): Outlier.Consecutive failures eject a backend
// for BaseEjection, doubling on every further ejection up to MaxEjection; when the ejection
// ends one request probes it (half-open) and its result decides. Optional active checks
// (Backend.Probe) eject and restore backends between requests.
//
// Every failover is counted (gateway_failover_total{route,from,to,reason}), added as a
// "gateway.failover" event on the request's span, recorded in the Attempts a caller put on the
// context with Track (for the access log), and the response carries the header
// x-gateway-backend (the backend that served) and, after a failover, x-gateway-failover
// (the chain, e.g. "anthropic:5xx,openai").
