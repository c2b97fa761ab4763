package mcp

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/infergw/gwctl/pkg/gateway"
)

// Protocol is the transport an upstream target speaks.
type Protocol string

const (
	// StreamableHTTP is the MCP streamable HTTP transport (2025-03-26 onward).
	StreamableHTTP Protocol = "StreamableHTTP"
	// SSE is the deprecated HTTP+SSE transport of 2024-11-05 (GET an event stream, POST to the endpoint it names).
	SSE Protocol = "SSE"
)

// SessionRouting is spec.mcp.sessionRouting.
type SessionRouting string

const (
	// Stateful keeps one upstream session per client session (the default).
	Stateful SessionRouting = "Stateful"
	// Stateless wraps every request upstream as initialize → request → DELETE.
	Stateless SessionRouting = "Stateless"
)

// FailureMode is spec.mcp.failureMode.
type FailureMode string

const (
	// FailClosed fails a request that fans out (initialize, lists) when any target fails (the default).
	FailClosed FailureMode = "FailClosed"
	// FailOpen skips failed targets and serves from the healthy ones.
	FailOpen FailureMode = "FailOpen"
)

// Target is one upstream MCP server, already resolved to a URL by the compile step.
type Target struct {
	// Name is the target's name; with more than one target it prefixes tools and prompts as "<name>_".
	Name string
	// URL is the upstream endpoint, e.g. http://everything.mcp.svc.cluster.local:3001/mcp
	// (for SSE, the URL of the event stream, e.g. …/sse).
	URL string
	// Protocol defaults to StreamableHTTP.
	Protocol Protocol
	// Upstream is the target's TLS policy as compiled (nil: plain HTTP); the caller turns it
	// into TLS, the client configuration of an https URL, served by a transport of the target's own.
	Upstream *gateway.UpstreamTLS `json:"-"`
	TLS      *tls.Config          `json:"-"`
}

// Config is an AgentgatewayBackend's spec.mcp compiled for the dataplane, plus the route's tool rules.
type Config struct {
	Targets        []Target
	SessionRouting SessionRouting // default Stateful
	FailureMode    FailureMode    // default FailClosed
	// SessionKey is the 32-byte key sealing client session ids; every replica must share it.
	SessionKey []byte
	// SessionMaxAge refuses session ids older than this (0: no limit).
	SessionMaxAge time.Duration
	// Rules decides which tools a caller may see and call.
	Rules Rules
	// MaxRequestBytes limits a client's POST body (default 4 MiB); larger bodies get 413.
	MaxRequestBytes int64
	// Claims returns the verified JWT claims of the request, or nil when it has none.
	Claims func(*http.Request) map[string]any
	// AllowedOrigins lists the Origin values accepted besides the request's own host (2025-11-25 asks
	// servers to refuse others with 403). Empty: any Origin is refused unless it matches the Host.
	AllowedOrigins []string
	// DialTimeout bounds connecting to a target (default 5 s), so a dead target fails fast.
	DialTimeout time.Duration
	// FanoutTimeout bounds the requests the gateway sends to every target at once: initialize,
	// the list methods, server/discover, logging/setLevel (default 30 s). tools/call and other
	// routed calls are bounded by the route's timeout only, since tools may run long.
	FanoutTimeout time.Duration
	// ServerName is the serverInfo.name answered when several targets are merged.
	ServerName string
}

// Deps are the process-wide things a handler uses; all are optional.
type Deps struct {
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
	TracerProvider trace.TracerProvider
	// Metrics, if set, is used instead of registering collectors on Registerer, so the handlers of
	// several backends (and of each reload) share one set of series.
	Metrics *Metrics
	// Transport overrides the HTTP transport to the targets (custom TLS, tests).
	Transport http.RoundTripper
}

var targetNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func (c *Config) validate() error {
	if len(c.Targets) == 0 {
		return fmt.Errorf("mcp: no targets (a selector that matches no Service yields none)")
	}
	seen := map[string]bool{}
	for i, t := range c.Targets {
		if !targetNameRE.MatchString(t.Name) {
			return fmt.Errorf("mcp: targets[%d]: name %q is not a lowercase DNS subdomain", i, t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("mcp: targets[%d]: duplicate name %q", i, t.Name)
		}
		seen[t.Name] = true
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("mcp: targets[%d] %q: URL %q is not an absolute http(s) URL", i, t.Name, t.URL)
		}
		switch t.Protocol {
		case "", StreamableHTTP, SSE:
		default:
			return fmt.Errorf("mcp: targets[%d] %q: unknown protocol %q", i, t.Name, t.Protocol)
		}
	}
	switch c.SessionRouting {
	case "", Stateful, Stateless:
	default:
		return fmt.Errorf("mcp: unknown sessionRouting %q", c.SessionRouting)
	}
	switch c.FailureMode {
	case "", FailClosed, FailOpen:
	default:
		return fmt.Errorf("mcp: unknown failureMode %q", c.FailureMode)
	}
	return nil
}
