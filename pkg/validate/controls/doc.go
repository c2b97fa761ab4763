// Package controls reports, for each HTTPRoute, which controls (authentication, rate limiting,
// tracing, fallback) the manifests enforce on it.
package controls
