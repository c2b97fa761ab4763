package mcp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Metrics are the gateway's MCP series. One set can serve several handlers (one per backend).
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	sessions       *prometheus.CounterVec
	targetFailures *prometheus.CounterVec
}

// Request outcomes, the status label of mcp_requests_total.
const (
	statusOK          = "ok"
	statusError       = "error"       // the target answered with a JSON-RPC error
	statusDenied      = "denied"      // refused by the tool rules
	statusInvalid     = "invalid"     // malformed, unknown session, header mismatch, too large
	statusUnavailable = "unavailable" // a target could not be reached or broke off
)

// NewMetrics registers the MCP series on reg (nil: not registered, still usable).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_requests_total",
			Help: "MCP messages handled by the gateway, by JSON-RPC method, tool (tools/call) and outcome.",
		}, []string{"method", "tool", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcp_server_operation_duration_seconds",
			Help:    "Time from receiving an MCP request to the end of its response, by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_sessions_total",
			Help: "MCP session events: created (initialize), terminated (DELETE), rejected (invalid or foreign session id).",
		}, []string{"event"}),
		targetFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_target_failures_total",
			Help: "Calls to an MCP target that failed to connect or broke off, by target.",
		}, []string{"target"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.sessions, err = register(reg, m.sessions); err != nil {
		return nil, err
	}
	if m.targetFailures, err = register(reg, m.targetFailures); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the collector already registered under its name (a reload
// builds new handlers against the same registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("mcp metrics: %w", err)
	}
	return c, nil
}

func tracerFrom(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return tp.Tracer("github.com/infergw/gwctl/dataplane/mcp")
}

// Span attribute names (OpenTelemetry semantic conventions v1.41.0).
const (
	attrMethod   = attribute.Key("mcp.method.name")
	attrSession  = attribute.Key("mcp.session.id")
	attrVersion  = attribute.Key("mcp.protocol.version")
	attrToolName = attribute.Key("gen_ai.tool.name")
	attrTarget   = attribute.Key("mcp.target")
	attrStatus   = attribute.Key("mcp.gateway.status")
	attrErrCode  = attribute.Key("rpc.jsonrpc.error_code")
)

// sessionTag names a session in logs and spans without revealing the id, which a client presents
// like a credential.
func sessionTag(id string) string {
	if id == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:8])
}

// maxToolLabels bounds the tool label of mcp_requests_total: clients choose tool names, and a
// metric must not grow with whatever they send.
const maxToolLabels = 512

// toolLabel is name while fewer than maxToolLabels names have been seen, then "other" for new ones.
func (h *Handler) toolLabel(name string) string {
	if _, ok := h.toolNames.Load(name); ok {
		return name
	}
	if h.toolCount.Add(1) > maxToolLabels {
		h.toolCount.Add(-1)
		return "other"
	}
	if _, loaded := h.toolNames.LoadOrStore(name, struct{}{}); loaded {
		h.toolCount.Add(-1)
	}
	return name
}

func strAttr(k, v string) slog.Attr { return slog.String(k, v) }
