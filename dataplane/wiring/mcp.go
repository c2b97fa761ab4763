package wiring

import (
	"crypto/rand"
	"net/http"
	"net/url"

	"github.com/infergw/gwctl/dataplane/mcp"
	"github.com/infergw/gwctl/dataplane/policy/jwt"
	"github.com/infergw/gwctl/pkg/gateway"
)

func (in *Installer) installMCP() error {
	key := in.opts.SessionKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		in.log.Warn("no MCP session key configured: sessions are bound to this process (set --mcp-session-key for replicas and restarts)")
	}
	metrics, err := mcp.NewMetrics(in.d.Prometheus)
	if err != nil {
		return err
	}
	in.d.Backends.Register(gateway.KindMCP, func(b *gateway.Backend) (http.Handler, error) {
		cfg, err := mcp.BackendConfig(b)
		if err != nil {
			return nil, backendErr(b, err)
		}
		for i := range cfg.Targets {
			t := &cfg.Targets[i]
			if t.Upstream != nil {
				u, _ := url.Parse(t.URL)
				if t.TLS, err = in.d.ClientTLS(t.Upstream, u.Host); err != nil {
					return nil, backendErr(b, err)
				}
			}
		}
		cfg.SessionKey = key
		cfg.Claims = func(r *http.Request) map[string]any {
			c, ok := jwt.ClaimsFrom(r.Context())
			if !ok {
				return nil
			}
			return c
		}
		h, err := mcp.New(cfg, mcp.Deps{Logger: in.log.With("backend", b.ID), Metrics: metrics, TracerProvider: spans{in: in}})
		if err != nil {
			return nil, backendErr(b, err)
		}
		return h, nil
	})
	return nil
}
