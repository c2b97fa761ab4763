package wiring

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/infergw/gwctl/dataplane/failover"
	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/llm/anthropic"
	"github.com/infergw/gwctl/dataplane/llm/gemini"
	"github.com/infergw/gwctl/dataplane/llm/openai"
	"github.com/infergw/gwctl/dataplane/policy/ratelimit"
	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/dataplane/router"
	"github.com/infergw/gwctl/dataplane/telemetry"
	"github.com/infergw/gwctl/pkg/gateway"
)

// installAI serves AgentgatewayBackend spec.ai: Anthropic and Gemini (OpenAI requests
// translated) and OpenAI-compatible upstreams (passed through). Other provider types answer 501.
func (in *Installer) installAI() error {
	metrics, err := llm.NewMetrics(in.d.Prometheus)
	if err != nil {
		return err
	}
	in.llmMetrics = metrics
	if in.failoverMetrics, err = failover.NewMetrics(in.d.Prometheus); err != nil {
		return err
	}
	in.d.Backends.Register(gateway.KindAI, func(b *gateway.Backend) (http.Handler, error) {
		if len(b.AI.Groups) > 1 || (len(b.AI.Groups) == 1 && len(b.AI.Groups[0]) > 1) {
			return in.priorityGroups(b)
		}
		return in.provider(b, b.AI.Provider, b.Auth)
	})
	return nil
}

// provider builds the handler of one LLM provider.
func (in *Installer) provider(b *gateway.Backend, p gateway.AIProvider, auth *gateway.BackendAuth) (http.Handler, error) {
	if p.Auth != nil {
		auth = p.Auth
	}
	key, secretName := in.credential(b, auth)
	// An overridden host on a port other than 443 is a plain-HTTP upstream (a local vLLM server,
	// a sidecar, a test double); the providers' own endpoints use TLS.
	plaintext := p.Host != "" && p.Port != 443
	log := in.log.With("backend", b.ID)
	client, closeClient := in.llmClient, func() {}
	if b.TLS != nil {
		// policies.tls: the provider is https whatever its port, verified as the policy says.
		plaintext = false
		addr := ""
		if p.Host != "" {
			addr = net.JoinHostPort(strings.Trim(p.Host, "[]"), strconv.Itoa(int(p.Port)))
		}
		cfg, err := in.d.ClientTLS(b.TLS, addr)
		if err != nil {
			return nil, backendErr(b, err)
		}
		t := proxy.NewEgressTransport()
		t.TLSClientConfig = cfg
		client, closeClient = &http.Client{Transport: in.traceTransport(t)}, t.CloseIdleConnections
	}
	var (
		h   http.Handler
		err error
	)
	switch p.Type {
	case "anthropic": // pkg/gateway reports an anthropic provider without a key
		h, err = anthropic.NewHandler(anthropic.Config{
			Model: p.Model, Host: p.Host, Port: int(p.Port), PathPrefix: p.PathPrefix, Plaintext: plaintext,
			APIKey: key, SecretName: secretName, AlwaysIncludeUsage: in.opts.AlwaysIncludeUsage,
			WebSearch: in.opts.AnthropicWebSearch, ServerTools: in.opts.AnthropicServerTools,
			Client: client, Logger: log, Metrics: in.llmMetrics, OnResult: chargeTokens,
		})
	case "gemini": // pkg/gateway reports a gemini provider without a key
		h, err = gemini.NewHandler(gemini.Config{
			Model: p.Model, Host: p.Host, Port: int(p.Port), PathPrefix: p.PathPrefix, Plaintext: plaintext,
			APIKey: key, SecretName: secretName, AlwaysIncludeUsage: in.opts.AlwaysIncludeUsage,
			Client: client, Logger: log, Metrics: in.llmMetrics, OnResult: chargeTokens,
		})
	case "openai":
		h, err = openai.NewHandler(openai.Config{
			Model: p.Model, Host: p.Host, Port: int(p.Port), PathPrefix: p.PathPrefix, Plaintext: plaintext,
			APIKey: key, SecretName: secretName, AlwaysIncludeUsage: in.opts.AlwaysIncludeUsage,
			Client: client, Logger: log, Metrics: in.llmMetrics, OnResult: chargeTokens,
		})
	default:
		return router.NotServed(b), nil
	}
	if err != nil {
		closeClient()
		return nil, backendErr(b, err)
	}
	return closingHandler{Handler: withRouteInfo(h), close: closeClient}, nil
}

// closingHandler releases a backend's own transport when its config is replaced.
type closingHandler struct {
	http.Handler
	close func()
}

func (c closingHandler) Close() error {
	c.close()
	return nil
}

func (in *Installer) credential(b *gateway.Backend, auth *gateway.BackendAuth) (func() (string, error), string) {
	switch {
	case auth == nil || auth.Passthrough:
		return nil, ""
	case auth.SecretRef != "":
		return in.d.Secrets.Key(auth.SecretRef, "Authorization"), b.Namespace + "/" + auth.SecretRef
	case auth.InlineKey != "":
		k := auth.InlineKey
		return func() (string, error) { return k, nil }, ""
	}
	return nil, ""
}

// chargeTokens charges the response's tokens to token rate limits on the request's route, and
// records the call's GenAI attributes on the request's span when tracing is on.
func chargeTokens(ctx context.Context, r llm.Result) {
	if r.HasUsage {
		ratelimit.Charge(ctx, r.Usage.PromptTokens()+r.Usage.Output)
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(
		attribute.String(telemetry.AttrOperationName, "chat"),
		attribute.String(telemetry.AttrProviderName, r.Provider),
		attribute.String(telemetry.AttrRequestModel, r.RequestModel),
	)
	resp := telemetry.LLMResponse{Model: r.ResponseModel, ID: r.ResponseID,
		InputTokens: r.Usage.PromptTokens(), OutputTokens: r.Usage.Output}
	if r.FinishReason != "" {
		resp.FinishReasons = []string{r.FinishReason}
	}
	telemetry.SetLLMResponse(span, resp)
}

// withRouteInfo hands the router's route and backend names, and the models the rule selects, to
// the LLM handler for metrics.
func withRouteInfo(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := router.InfoFromContext(r.Context()); ok {
			ctx := llm.WithRoute(r.Context(), llm.RouteInfo{Route: info.Route, Backend: info.Backend})
			if models := ruleModels(info.Rule); len(models) > 0 {
				ctx = llm.WithRouteModels(ctx, models)
			}
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}

// ruleModels are the models a rule routes by name: the values of its exact matches on
// X-Gateway-Base-Model-Name (body-based routing). They are the configured model names of the route.
func ruleModels(rule *gateway.Rule) []string {
	if rule == nil {
		return nil
	}
	var out []string
	for _, m := range rule.Matches {
		for _, hm := range m.Headers {
			if hm.Type == gateway.MatchExact && strings.EqualFold(hm.Name, pool.HeaderBaseModelName) {
				out = append(out, hm.Value)
			}
		}
	}
	return out
}

// priorityGroups serves spec.ai.groups through dataplane/failover: the first group is the
// primary; a request moves to the next provider only before its first response byte.
func (in *Installer) priorityGroups(b *gateway.Backend) (http.Handler, error) {
	cfg := failover.Config{Route: b.ID}
	for _, g := range b.AI.Groups {
		var group []failover.Backend
		for _, p := range g {
			h, err := in.provider(b, p, b.Auth)
			if err != nil {
				return nil, err
			}
			group = append(group, failover.Backend{Name: p.Name, Kind: p.Type, Handler: h})
		}
		cfg.Priorities = append(cfg.Priorities, group)
	}
	f, err := failover.New(cfg, failover.Deps{Logger: in.log.With("backend", b.ID), Metrics: in.failoverMetrics})
	if err != nil {
		return nil, backendErr(b, err)
	}
	return f, nil
}
