// Package epp speaks the Gateway API Inference Extension's endpoint-picker protocol (Envoy
// ext_proc v3) both ways: Client asks a pool's Endpoint Picker which endpoint serves each request
// and proxies there through the pool (dataplane/pool), honouring failureMode; Server serves the
// dataplane's in-process picker to any conforming gateway.
//
// Metrics: gwctl_epp_pick_duration_seconds{pool} (the request phase: what the EPP adds before
// the model server is called), gwctl_epp_requests_total{pool,outcome} and
// gwctl_epp_errors_total{pool,reason} on the client; gwctl_epp_server_requests_total{pool,outcome}
// and gwctl_epp_server_pick_duration_seconds{pool} on the server.
package epp
