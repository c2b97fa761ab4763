package jwt

import (
	"net/http"
	"strings"
	"unicode"
)

const (
	wellKnownResource   = "/.well-known/oauth-protected-resource"
	wellKnownAuthServer = "/.well-known/oauth-authorization-server"
	// mcpProtocolVersion is what agentgateway v1.2.1 advertises in the metadata document.
	mcpProtocolVersion = "2025-06-18"
)

// serveMetadata answers RFC 9728 protected-resource metadata without authentication, both at
// the root and with the resource path inserted (/.well-known/oauth-protected-resource/mcp).
func (a *Authenticator) serveMetadata(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "mcp-protocol-version")
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed"})
		return
	}
	writeJSON(w, http.StatusOK, a.Metadata(origin(r)+strings.TrimPrefix(r.URL.Path, wellKnownResource)))
}

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
