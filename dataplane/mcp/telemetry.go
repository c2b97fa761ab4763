package mcp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/infergw/gwctl/dataplane/telemetry"
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
			Help: "MCP messages handled by the gateway, by JSON-RPC method (a specification method, else other), tool (tools/call: a tool a target listed, else other) and outcome.",
		}, []string{"method", "tool", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcp_server_operation_duration_seconds",
			Help:    "Time from receiving an MCP request to the end of its response, by method (a specification method, else other).",
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

// methods is the vocabulary of the method label: the JSON-RPC methods of the MCP specification
// (2024-11-05 to 2026-07-28), "response" for a client's answer to a server request, and "" for
// a message that did not parse. Clients choose the method they send; any other is "other".
var methods = telemetry.NewVocabulary(
	"initialize", "ping", "server/discover", "subscriptions/listen",
	"tools/list", "tools/call", "prompts/list", "prompts/get",
	"resources/list", "resources/templates/list", "resources/read", "resources/subscribe", "resources/unsubscribe",
	"completion/complete", "logging/setLevel", "sampling/createMessage", "elicitation/create", "roots/list",
	"tasks/get", "tasks/result", "tasks/list", "tasks/cancel",
	"notifications/initialized", "notifications/cancelled", "notifications/progress", "notifications/message",
	"notifications/resources/updated", "notifications/resources/list_changed", "notifications/tools/list_changed",
	"notifications/prompts/list_changed", "notifications/roots/list_changed", "notifications/tasks/status",
	"notifications/elicitation/complete", "notifications/subscriptions/acknowledged",
	"response",
)

// methodLabel is the method label of m.
func methodLabel(m *message) string {
	switch {
	case m.kind() == kindResponse:
		return "response"
	case m.Method == "":
		return ""
	}
	return methods.Label(m.Method)
}

// maxToolLabels bounds the tools a handler learns from its targets' tools/list answers (an
// upstream chooses how many tools it lists).
const maxToolLabels = 512

// toolLabel is the tool label of a tools/call: the name when a target listed it, else "other".
// Clients choose the names they call, so a name is never learnt from a call.
func (h *Handler) toolLabel(name string) string {
	if _, ok := h.toolNames.Load(name); ok {
		return name
	}
	return telemetry.LabelOther
}

// learnTool adds a tool name (as clients see it) listed by a target to the tool label's vocabulary.
func (h *Handler) learnTool(name string) {
	if _, ok := h.toolNames.Load(name); ok || name == "" {
		return
	}
	if h.toolCount.Add(1) > maxToolLabels {
		h.toolCount.Add(-1)
		return
	}
	if _, loaded := h.toolNames.LoadOrStore(name, struct{}{}); loaded {
		h.toolCount.Add(-1)
	}
}

// learnListedTools learns the tool names of a tools/list response passed through unchanged.
func (h *Handler) learnListedTools(data []byte) {
	var m struct {
		Result struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		} `json:"result"`
	}
	if json.Unmarshal(data, &m) != nil {
		return
	}
	for _, t := range m.Result.Tools {
		h.learnTool(t.Name)
	}
}

func strAttr(k, v string) slog.Attr { return slog.String(k, v) }
