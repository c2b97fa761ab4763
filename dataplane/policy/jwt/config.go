// Package jwt authenticates requests with JSON Web Tokens the way an AgentgatewayPolicy's
// spec.traffic.jwtAuthentication asks (agentgateway v1.2.1 semantics): providers with issuer,
// audiences and a JWKS, the Strict/Optional/Permissive modes, and OAuth protected-resource
// metadata for MCP routes. Verified claims reach later handlers through ClaimsFrom.
package jwt

import (
	"errors"
	"fmt"
	"time"
)

// Mode says what happens to a request without a valid token.
type Mode string

const (
	// ModeStrict requires a valid token from a configured provider (the CRD default).
	ModeStrict Mode = "Strict"
	// ModeOptional validates a token when one is present and lets requests without one pass.
	ModeOptional Mode = "Optional"
	// ModePermissive never rejects; claims of a valid token still reach later handlers.
	ModePermissive Mode = "Permissive"
)

// DefaultCacheDuration is the JWKS refresh interval when a remote provider sets none (the CRD default).
const DefaultCacheDuration = 5 * time.Minute

// DefaultClockSkew is the leeway applied to exp, nbf and iat.
const DefaultClockSkew = 60 * time.Second

// Config mirrors spec.traffic.jwtAuthentication once the compile step has resolved backend references.
type Config struct {
	// Mode defaults to ModeStrict.
	Mode Mode
	// Providers are matched by the token's iss claim; 1..64.
	Providers []Provider
	// Location says where the token is read from; nil means the Authorization header with prefix "Bearer ".
	Location *Location
	// MCP turns on OAuth protected-resource metadata and resource_metadata challenges (MCP routes).
	MCP *MCPConfig
	// Passthrough keeps the credential on the request sent upstream (backend auth.passthrough).
	Passthrough bool
	// ClockSkew is the leeway for exp/nbf/iat; zero means DefaultClockSkew.
	ClockSkew time.Duration
	// CacheSize bounds the verified-token cache (entries); zero means 10000, negative disables it.
	CacheSize int
	// WriteError writes the body of a 401; nil writes OpenAI-shaped JSON, or agentgateway's MCP body when MCP is set.
	// Status and WWW-Authenticate are already set when it is called.
	WriteError ErrorWriter
	// PublicOrigin is the scheme://host[:port] clients reach the gateway at (dataplane --public-origin).
	// URLs the policy hands out (realm, resource_metadata, the metadata's resource) are built on it,
	// or on the origin of mcp.resourceMetadata.resource when that is set; without either, on the
	// request's Host, and only when it is a well-formed host name or address (see requestOrigin).
	PublicOrigin string
}

// Provider is one trusted issuer.
type Provider struct {
	// Issuer must equal the token's iss claim exactly.
	Issuer string
	// Audiences, when set, must contain one of the token's aud values; empty accepts any aud.
	Audiences []string
	// JWKS holds the issuer's public keys.
	JWKS JWKS
	// Types, when set, restricts the JOSE typ header (e.g. "at+jwt", "JWT"); empty accepts any.
	Types []string
}

// JWKS is exactly one of an inline key set or a remote URL.
type JWKS struct {
	// Inline is a JWKS JSON document, parsed once by New.
	Inline string
	// URL is where a remote JWKS is fetched (the compile step resolves backendRef + jwksPath into it).
	URL string
	// CacheDuration is the refresh interval of a remote JWKS; zero means DefaultCacheDuration.
	CacheDuration time.Duration
}

// Location is exactly one place the token is read from (v1.2 jwtAuthentication.location).
type Location struct {
	Header         *HeaderLocation
	QueryParameter string
	Cookie         string
}

// HeaderLocation reads the token from a header, after an optional case-insensitive prefix.
type HeaderLocation struct {
	Name   string
	Prefix string
}

// MCPConfig mirrors jwtAuthentication.mcp.
type MCPConfig struct {
	// ResourceMetadata keys are added to the protected-resource metadata document, camelCase converted to snake_case;
	// they override computed keys.
	ResourceMetadata map[string]any
	// Provider is Auth0 or Keycloak in the CRD; kept for the compile step, not used at run time.
	Provider string
}

func (c *Config) validate() error {
	switch c.Mode {
	case "":
		c.Mode = ModeStrict
	case ModeStrict, ModeOptional, ModePermissive:
	default:
		return fmt.Errorf("jwt: mode %q: want Strict, Optional or Permissive", c.Mode)
	}
	if len(c.Providers) == 0 || len(c.Providers) > 64 {
		return fmt.Errorf("jwt: providers: want 1..64, got %d", len(c.Providers))
	}
	if c.MCP != nil {
		if len(c.Providers) != 1 {
			return errors.New("jwt: jwtAuthentication.mcp requires exactly one provider")
		}
		if c.Mode != ModeStrict {
			return errors.New("jwt: jwtAuthentication.mcp requires mode Strict")
		}
	}
	seen := map[string]bool{}
	for i, p := range c.Providers {
		if p.Issuer == "" {
			return fmt.Errorf("jwt: providers[%d]: issuer is required", i)
		}
		if seen[p.Issuer] {
			return fmt.Errorf("jwt: providers[%d]: duplicate issuer %q", i, p.Issuer)
		}
		seen[p.Issuer] = true
		if (p.JWKS.Inline == "") == (p.JWKS.URL == "") {
			return fmt.Errorf("jwt: providers[%d] (%s): jwks needs exactly one of inline or remote", i, p.Issuer)
		}
	}
	if l := c.Location; l != nil {
		n := 0
		if l.Header != nil {
			n++
			if l.Header.Name == "" {
				return errors.New("jwt: location.header.name is required")
			}
		}
		if l.QueryParameter != "" {
			n++
		}
		if l.Cookie != "" {
			n++
		}
		if n != 1 {
			return errors.New("jwt: location needs exactly one of header, queryParameter or cookie")
		}
	}
	if c.PublicOrigin != "" {
		o, err := ParseOrigin(c.PublicOrigin)
		if err != nil {
			return fmt.Errorf("jwt: public origin: %w", err)
		}
		c.PublicOrigin = o
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.CacheSize == 0 {
		c.CacheSize = 10000
	}
	return nil
}
