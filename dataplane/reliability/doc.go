// Package reliability holds end-to-end reliability and security tests of the assembled dataplane.
package reliability

// How the tests run
//
// Every test renders the bundled platform with gwctl's libraries and serves it with the real
// dataplane (bootstrap + standard.Install) against real components: vLLM simulators, a fake
// Anthropic or a fault-injecting upstream, the MCP example server, a real OIDC issuer and
// redis-server. TestSoak runs only with -soak.duration (see hack/soak and RELIABILITY.md).
