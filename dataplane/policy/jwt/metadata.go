package jwt

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode"
)

const (
	wellKnownResource   = "/.well-known/oauth-protected-resource"
	wellKnownAuthServer = "/.well-known/oauth-authorization-server"
	// mcpProtocolVersion is what agentgateway v1.2.1 advertises in the metadata document.
	mcpProtocolVersion = "2025-06-18"
)

// wellKnown recognises the two OAuth metadata documents of an MCP route in their exact forms:
// the document at the root (/.well-known/oauth-protected-resource) or with the resource's path
// inserted after it (/.well-known/oauth-protected-resource/mcp), the same for
// oauth-authorization-server. A longer name (…/oauth-protected-resourcex) is neither. p is the
// request path as the server normalised it.
func wellKnown(p string) (doc, resource string, ok bool) {
	for _, d := range [...]string{wellKnownResource, wellKnownAuthServer} {
		if rest, found := strings.CutPrefix(p, d); found && (rest == "" || rest[0] == '/') {
			return d, rest, true
		}
	}
	return "", "", false
}

// canonicalPath reports whether a resource path is already clean (no empty, "." or ".." segment;
// a trailing "/" is allowed), so that the document never names a resource the router would not.
func canonicalPath(p string) bool {
	if p == "" || p == "/" {
		return true
	}
	c := path.Clean(p)
	return c == p || c+"/" == p
}

// serveWellKnown answers an OAuth metadata path itself; such a request never reaches the
// route's backend, whatever its method. GET and HEAD get the document, OPTIONS a CORS answer,
// any other method 405.
func (a *Authenticator) serveWellKnown(w http.ResponseWriter, r *http.Request, doc, resource string) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "mcp-protocol-version")
	switch r.Method {
	case http.MethodOptions:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed",
			"error_description": "OAuth metadata documents answer GET, HEAD and OPTIONS only"})
		return
	}
	if !canonicalPath(resource) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "no such resource"})
		return
	}
	if doc == wellKnownAuthServer {
		a.serveAuthServerMetadata(w, r)
		return
	}
	origin, ok := a.originFor(r)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request",
			"error_description": "the Host header is not a valid host name"})
		return
	}
	writeJSON(w, http.StatusOK, a.Metadata(origin+escapePath(resource)))
}

// serveAuthServerMetadata answers the authorization server's RFC 8414 metadata as the issuer
// publishes it (fetched and cached, see authServer). The gateway is not an authorization
// server: clients of MCP 2025-06-18 and later find the issuer in the protected-resource
// metadata and ask it directly; this copy serves the older clients (2025-03-26) that look for
// it on the MCP server's origin, and browsers the issuer gives no CORS headers. When the issuer's
// document cannot be had, the answer is 404 with a JSON error.
func (a *Authenticator) serveAuthServerMetadata(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if a.authServer != nil {
		body = a.authServer.get(r.Context())
	}
	if body == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found",
			"error_description": "authorization server metadata is not available here; use authorization_servers of " + wellKnownResource})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// escapePath is p as it appears in a URL.
func escapePath(p string) string { return (&url.URL{Path: p}).EscapedPath() }

// Metadata is the protected-resource metadata document for resource (the MCP endpoint URL),
// shaped like agentgateway's: computed fields, then the policy's resourceMetadata in snake_case.
func (a *Authenticator) Metadata(resource string) map[string]any {
	doc := map[string]any{
		"resource":                 resource,
		"authorization_servers":    []string{a.cfg.Providers[0].Issuer},
		"bearer_methods_supported": []string{"header"},
		"mcp_protocol_version":     mcpProtocolVersion,
		"resource_type":            "mcp-server",
	}
	if a.cfg.MCP != nil {
		for k, v := range a.cfg.MCP.ResourceMetadata {
			doc[snakeCase(k)] = v
		}
	}
	return doc
}

// snakeCase turns scopesSupported into scopes_supported; snake_case input is unchanged.
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
