// Package mcp is the dataplane's MCP gateway: an http.Handler that serves the targets of an
// AgentgatewayBackend's spec.mcp behind one endpoint, for clients of both protocol generations.
package mcp

// How the MCP gateway works
//
// Clients of the 2025-11-25 generation initialize a session; the gateway initializes every target
// with the client's request and answers with an Mcp-Session-Id that seals the upstream session ids
// (AES-256-GCM, HKDF-derived key, bound to the JWT principal), so any replica sharing the key serves
// any session and a forged or tampered id gets 404. Clients of the 2026-07-28 generation are served
// without sessions; their Mcp-Method and Mcp-Name headers are checked against the body (400, -32020)
// before anything is routed or authorized on them, and server/discover is forwarded or merged.
//
// With more than one target, tools and prompts are named "<target>_<name>" and resource URIs
// "<target>+<uri>"; lists fan out and merge, calls go to their target, and server-to-client request
// ids and stream event ids carry the target. Rules filter tools/list and refuse tools/call (HTTP 400,
// JSON-RPC -32602). Targets that fail give JSON-RPC errors at once; with failureMode FailOpen they
// are left out of lists instead.
