package wiring

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/infergw/gwctl/dataplane/policy/jwt"
	"github.com/infergw/gwctl/dataplane/policy/ratelimit"
	"github.com/infergw/gwctl/dataplane/router"
	"github.com/infergw/gwctl/pkg/gateway"
)

type authEntry struct {
	sig  string
	auth *jwt.Authenticator
}

// jwtStage builds the JWT middleware of a merged policy. Authenticators are kept per policy
// across reloads while their settings are unchanged, so cached key sets and verified tokens survive.
func (in *Installer) jwtStage(p *gateway.TrafficPolicy) (router.Middleware, error) {
	j := p.JWT
	cfg := jwt.Config{Mode: jwt.Mode(j.Mode), PublicOrigin: in.opts.PublicOrigin}
	for _, pr := range j.Providers {
		cfg.Providers = append(cfg.Providers, jwt.Provider{
			Issuer: pr.Issuer, Audiences: pr.Audiences,
			JWKS: jwt.JWKS{Inline: pr.InlineJWKS, URL: pr.JWKSURL, CacheDuration: pr.CacheDuration},
		})
	}
	switch {
	case j.QueryParameter != "":
		cfg.Location = &jwt.Location{QueryParameter: j.QueryParameter}
	case j.Cookie != "":
		cfg.Location = &jwt.Location{Cookie: j.Cookie}
	case j.HeaderName != "":
		cfg.Location = &jwt.Location{Header: &jwt.HeaderLocation{Name: j.HeaderName, Prefix: j.HeaderPrefix}}
	}
	if j.MCP != nil {
		cfg.MCP = &jwt.MCPConfig{ResourceMetadata: j.MCP.ResourceMetadata, Provider: j.MCP.Provider}
	}
	client, tlsSig, err := in.jwksClient(j)
	if err != nil {
		return nil, fmt.Errorf("policy %s: jwtAuthentication: %w", j.Policy, err)
	}
	plain := *j
	plain.Providers = nil // their TLS pointers change on every compile: tlsSig stands for them
	sig := fmt.Sprintf("%#v|%#v|%#v|%s|%s", cfg.Mode, cfg.Providers, plain, cfg.PublicOrigin, tlsSig)
	key := j.Policy.String()

	in.mu.Lock()
	defer in.mu.Unlock()
	if e, ok := in.auths[key]; ok && e.sig == sig {
		return e.auth.Middleware, nil
	}
	a, err := jwt.New(cfg, jwt.Deps{Logger: in.log.With("policy", key), Registerer: in.d.Prometheus, TracerProvider: spans{in: in}, HTTPClient: client})
	if err != nil {
		return nil, fmt.Errorf("policy %s: jwtAuthentication: %w", key, err)
	}
	a.Start(in.ctx)
	if old, ok := in.auths[key]; ok {
		old.auth.Close()
	}
	in.auths[key] = authEntry{sig: sig, auth: a}
	return a.Middleware, nil
}

type limiterEntry struct {
	sig string
	lim ratelimit.Limiter
}

// rateLimitStage builds the rate-limit middleware: one bucket per policy item per replica (or,
// with Redis, one shared by every replica), kept across reloads while the item is unchanged.
func (in *Installer) rateLimitStage(p *gateway.TrafficPolicy) (router.Middleware, error) {
	var rules []ratelimit.Rule
	for _, l := range p.RateLimit.Local {
		lim, err := in.limiter(l)
		if err != nil {
			return nil, fmt.Errorf("policy %s: rateLimit: %w", p.RateLimit.Policy, err)
		}
		rules = append(rules, ratelimit.Rule{Limiter: lim, Tokens: l.Tokens})
	}
	return ratelimit.Middleware(rules, ratelimit.Options{Logger: in.log, WriteError: writeLimitError, Tracer: spans{in: in}.Tracer("gwctl/dataplane/ratelimit")}), nil
}

// writeLimitError answers in the client's error shape: JSON-RPC for MCP clients (they send
// Mcp-Session-Id or MCP-Protocol-Version, or post to an /mcp path), OpenAI's otherwise.
func writeLimitError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.Header.Get("Mcp-Session-Id") != "" || r.Header.Get("MCP-Protocol-Version") != "" || strings.Contains(r.URL.Path, "/mcp") {
		ratelimit.JSONRPCErrorWriter(-32000)(w, r, status, msg)
		return
	}
	ratelimit.WriteOpenAIError(w, r, status, msg)
}

func (in *Installer) limiter(l gateway.LocalLimit) (ratelimit.Limiter, error) {
	lim := ratelimit.Limit{Unit: l.Per, Burst: l.Capacity - l.Rate}
	if l.Tokens {
		lim.Tokens = l.Rate
	} else {
		lim.Requests = l.Rate
	}
	shared := in.opts.Redis != nil && !l.Tokens
	sig := fmt.Sprintf("%+v|%v", lim, shared)
	in.mu.Lock()
	defer in.mu.Unlock()
	if e, ok := in.limiters[l.Key]; ok && e.sig == sig {
		return e.lim, nil
	}
	var (
		out ratelimit.Limiter
		err error
	)
	if shared {
		mode := ratelimit.FailOpen
		if in.opts.RedisFailClosed {
			mode = ratelimit.FailClosed
		}
		var fallback ratelimit.Limiter
		if mode == ratelimit.FailOpen {
			fallback, err = ratelimit.NewLocal(ratelimit.FallbackLimit(lim, in.opts.Replicas))
			if err != nil {
				return nil, err
			}
		}
		out, err = ratelimit.NewRedis(in.opts.Redis, lim, ratelimit.RedisOptions{
			Name: l.Key, FailureMode: mode, Fallback: fallback, Logger: in.log, Registerer: in.d.Prometheus,
		})
	} else {
		out, err = ratelimit.NewLocal(lim)
	}
	if err != nil {
		return nil, err
	}
	in.limiters[l.Key] = limiterEntry{sig: sig, lim: out}
	return out, nil
}
