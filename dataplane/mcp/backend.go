package mcp

import (
	"fmt"
	"strings"

	"github.com/infergw/gwctl/pkg/gateway"
)

// BackendConfig fills the parts of a Config that come from a compiled AgentgatewayBackend: targets
// (spec.mcp.targets, selectors already expanded by pkg/gateway), sessionRouting, failureMode, and
// the backend.mcp.authorization of policies attached to it. The caller adds the dataplane's
// settings: SessionKey, Claims, MaxRequestBytes, AllowedOrigins, and route-level Rules.
func BackendConfig(b *gateway.Backend) (Config, error) {
	if b == nil || b.MCP == nil {
		return Config{}, fmt.Errorf("mcp: backend is not an MCP backend")
	}
	cfg := Config{SessionRouting: Stateful, FailureMode: FailClosed}
	if b.MCP.Stateless {
		cfg.SessionRouting = Stateless
	}
	if b.MCP.FailOpen {
		cfg.FailureMode = FailOpen
	}
	for _, t := range b.MCP.Targets {
		proto := Protocol(t.Protocol)
		if proto == "" {
			proto = StreamableHTTP
		}
		path := t.Path
		if path == "" {
			path = "/mcp"
			if proto == SSE {
				path = "/sse"
			}
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		tgt := Target{Name: t.Name, URL: "http://" + t.Address + path, Protocol: proto, Upstream: t.TLS}
		if tgt.Upstream == nil {
			tgt.Upstream = b.TLS
		}
		if tgt.Upstream != nil {
			tgt.URL = "https://" + t.Address + path
		}
		cfg.Targets = append(cfg.Targets, tgt)
	}
	if a := b.MCPAuthorization; a != nil {
		cfg.Rules.Authorizations = append(cfg.Rules.Authorizations, Authorization{Action: Action(a.Action), Expressions: a.Expressions})
	}
	return cfg, nil
}
