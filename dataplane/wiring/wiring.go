// Package wiring installs this build's backend handlers (AI providers, MCP, InferencePools)
// and traffic-policy stages (JWT, rate limit, transformation) on an assembled dataplane. It is
// the one place that maps the compiled model (pkg/gateway) onto the handler packages.
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/epp"
	"github.com/infergw/gwctl/dataplane/failover"
	"github.com/infergw/gwctl/dataplane/h1"
	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/dataplane/router"
	"github.com/infergw/gwctl/pkg/gateway"
)

// Options are the settings the handlers and policies need beyond the compiled resources.
type Options struct {
	// SessionKey encrypts MCP session ids so any replica can serve any session (32 bytes).
	// Empty: a random key per process (sessions do not survive a restart or cross replicas).
	SessionKey []byte
	// Redis, when set, makes request rate limits shared by every replica using it.
	Redis *redis.Client
	// RedisFailClosed refuses requests (503) while Redis is unreachable; the default admits
	// them under a local bucket of capacity ÷ Replicas.
	RedisFailClosed bool
	// Replicas is the number of dataplane replicas, for the local fallback while Redis is down.
	Replicas int
	// OTLPEndpoint receives traces (OTLP/gRPC, every request sampled) when no Gateway-targeted
	// frontend.tracing policy names a collector.
	OTLPEndpoint string
	// PoolEndpoints lists an InferencePool's model servers for local runs, by "name.namespace";
	// without an entry a pool resolves the DNS of its headless Service.
	PoolEndpoints map[string][]string
	// PoolSource, when set, gives an InferencePool's endpoints (Kubernetes mode: its ready
	// Pods), polled every PoolResolveInterval; PoolEndpoints entries still win.
	PoolSource          func(namespace string, selector map[string]string) pool.Source
	PoolResolveInterval time.Duration
	// PoolScheduler configures every InferencePool's picker (zero: pool.DefaultScheduler).
	PoolScheduler pool.SchedulerConfig
	// EndpointPicker configures the ext_proc client for pools whose endpointPickerRef the
	// dataplane calls; PoolInProcess keeps the in-process picker for every pool instead.
	EndpointPicker epp.Options
	PoolInProcess  bool
	// AlwaysIncludeUsage sends a usage chunk on every streamed LLM response (LiteLLM fronting).
	AlwaysIncludeUsage bool
	// AnthropicWebSearch maps OpenAI web_search_options to Anthropic's web_search server tool
	// on Anthropic backends (anthropic.Config.WebSearch); off, the option is ignored.
	AnthropicWebSearch bool
	// AnthropicServerTools lists the Anthropic server tool types clients may pass through
	// tools[] on Anthropic backends (anthropic.Config.ServerTools).
	AnthropicServerTools []string
	// PublicOrigin is the scheme://host[:port] clients reach the gateway at. JWT challenges and
	// MCP protected-resource metadata build their URLs on it instead of the request's Host
	// (jwt.Config.PublicOrigin); a policy's mcp.resourceMetadata.resource still wins.
	PublicOrigin string
}

// Installer holds state shared across reloads: rate-limit buckets and JWT key sets survive a
// config swap when their policy did not change.
type Installer struct {
	d    *bootstrap.Dataplane
	opts Options
	log  *slog.Logger
	ctx  context.Context

	llmMetrics      *llm.Metrics
	llmClient       *http.Client
	failoverMetrics *failover.Metrics
	epp             *epp.Client

	mu        sync.Mutex
	tracer    *sdktrace.TracerProvider
	tracerSig string
	tracingOn atomic.Bool // lock-free check on every upstream call
	limiters  map[string]limiterEntry
	auths     map[string]authEntry
}

// Install registers every backend kind and policy stage of this build on d. ctx bounds the
// background work (JWKS refresh); cancel it when the dataplane stops.
func Install(ctx context.Context, d *bootstrap.Dataplane, opts Options) (*Installer, error) {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	in := &Installer{
		d: d, opts: opts, log: d.Logger, ctx: ctx,
		limiters: map[string]limiterEntry{}, auths: map[string]authEntry{},
	}
	if err := in.installMCP(); err != nil {
		return nil, err
	}
	if err := in.installAI(); err != nil {
		return nil, err
	}
	if err := in.installPools(); err != nil {
		return nil, err
	}
	d.Wrap = in.tracing
	d.WrapTransport = in.traceTransport
	// Plain-HTTP providers (a local model server, a test double) go through dataplane/h1;
	// https, and anything behind HTTP(S)_PROXY, through the egress transport itself.
	in.llmClient = &http.Client{Transport: in.traceTransport(h1.Wrap(proxy.NewEgressTransport()))}
	d.Policy = router.Compose(router.Stages{
		JWT:            in.jwtStage,
		RateLimit:      in.rateLimitStage,
		Transformation: transformationStage,
	})
	return in, nil
}

func backendErr(b *gateway.Backend, err error) error {
	return fmt.Errorf("backend %s: %w", b.ID, err)
}
