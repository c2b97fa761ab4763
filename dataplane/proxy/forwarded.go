package proxy

import (
	"net"
	"net/http/httputil"
	"strings"
)

// The gateway is where client traffic enters the trust domain, so a header in which a client
// claims something about the connection or an earlier hop (its address, the host or scheme it
// used, a path an earlier proxy rewrote, instructions to a sidecar) is not passed on: upstreams
// could trust it. SetForwarded removes every such header and states the facts the gateway
// knows itself.

// untrustedPrefixes are removed whatever follows them: X-Forwarded-Port/-Prefix/-Server/-Uri/…,
// X-Original-Url/-Uri/-Host/-Forwarded-For/…, and Envoy's x-envoy-* (retry, timeout and
// upstream overrides a sidecar on the way to the upstream would honour).
var untrustedPrefixes = []string{"X-Forwarded-", "X-Original-", "X-Envoy-"}

// untrustedHeaders are client-address and rewrite headers of other proxies and CDNs.
var untrustedHeaders = []string{
	"Forwarded", // RFC 7239; the gateway sends the X-Forwarded-* set instead
	"X-Real-Ip",
	"X-Client-Ip",
	"True-Client-Ip",
	"X-Cluster-Client-Ip",
	"Cf-Connecting-Ip",
	"Fastly-Client-Ip",
	"X-Rewrite-Url",
}

// SetForwarded is the forwarding-header policy of every reverse proxy in the dataplane (a
// httputil.ReverseProxy Rewrite step): it removes the client's forwarding and trust headers
// (see untrustedHeaders, untrustedPrefixes) and sets X-Forwarded-For and X-Real-Ip to the
// client's address, X-Forwarded-Host to the Host it asked for and X-Forwarded-Proto to the
// scheme it used. The client's own X-Forwarded-For chain is dropped, not extended: the
// gateway is the first hop it vouches for.
func SetForwarded(pr *httputil.ProxyRequest) {
	h := pr.Out.Header
	for k := range h {
		if untrusted(k) {
			delete(h, k)
		}
	}
	pr.SetXForwarded()
	if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		h["X-Real-Ip"] = []string{ip}
	}
}

func untrusted(key string) bool {
	// Every name above starts with X, F, T or C, in either case (no other character folds to
	// those letters): most of a request's headers are passed at the first byte.
	if key == "" {
		return false
	}
	switch key[0] | 0x20 {
	case 'x', 'f', 't', 'c':
	default:
		return false
	}
	for _, p := range untrustedPrefixes {
		if len(key) >= len(p) && strings.EqualFold(key[:len(p)], p) {
			return true
		}
	}
	for _, u := range untrustedHeaders {
		if strings.EqualFold(key, u) {
			return true
		}
	}
	return false
}
