package mcp

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// recordingUpstream answers like startStaticServer and remembers the headers it received.
type recordingUpstream struct {
	mu      sync.Mutex
	headers []http.Header
}

func (ru *recordingUpstream) start(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ru.mu.Lock()
		ru.headers = append(ru.headers, r.Header.Clone())
		ru.mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		m, e := parseMessage(body)
		switch {
		case e != nil:
			writeRPCError(w, http.StatusBadRequest, nil, e)
		case m.kind() != kindRequest:
			w.WriteHeader(http.StatusAccepted)
		case m.Method == "initialize":
			w.Header().Set("Mcp-Session-Id", "up-1")
			out, _ := encodeResult(m.ID, map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{"tools": map[string]any{}}, "serverInfo": map[string]any{"name": "rec", "version": "1"}})
			writeJSON(w, http.StatusOK, out)
		case m.Method == "tools/list":
			out, _ := encodeResult(m.ID, map[string]any{"tools": []any{map[string]any{"name": "echo", "inputSchema": map[string]any{"type": "object"}}, map[string]any{"name": "secret", "inputSchema": map[string]any{"type": "object"}}}})
			writeJSON(w, http.StatusOK, out)
		default:
			out, _ := encodeResult(m.ID, map[string]any{"content": []any{map[string]any{"type": "text", "text": "ok"}}})
			writeJSON(w, http.StatusOK, out)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func TestMetricsSpansAndHeaders(t *testing.T) {
	ru := &recordingUpstream{}
	reg := prometheus.NewPedanticRegistry()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h, err := New(Config{Targets: []Target{{Name: "rec", URL: ru.start(t)}}, SessionKey: testKey, Rules: Rules{Deny: []string{"secret"}}},
		Deps{Registerer: reg, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(h)
	defer gw.Close()

	auth := http.Header{"Authorization": {"Bearer client-token"}, "Cookie": {"s=1"}, "Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	sid := initializeRawWith(t, gw.URL, auth)
	for _, c := range []struct {
		body   string
		status int
	}{
		{`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, 200},
		{`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}}`, 200},
		{`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{}}}`, 200},
		{`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"secret","arguments":{}}}`, 400},
	} {
		if r := postRaw(t, gw.URL, sid, c.body, auth); r.StatusCode != c.status {
			t.Fatalf("%s: %d %s", c.body, r.StatusCode, r.body)
		}
	}
	if r := postRaw(t, gw.URL, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, auth); !strings.Contains(r.body, `"echo"`) || strings.Contains(r.body, `"secret"`) {
		t.Errorf("tools/list = %s, want echo without secret", r.body)
	}
	postRaw(t, gw.URL, "bogus", `{"jsonrpc":"2.0","id":6,"method":"tools/list"}`, nil)

	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"tools/call", "echo", "ok"}, 2},
		{[]string{"tools/call", "secret", "denied"}, 1},
		{[]string{"tools/list", "", "ok"}, 2},
		{[]string{"initialize", "", "ok"}, 1},
		{[]string{"tools/list", "", "invalid"}, 1},
	} {
		if got := testutil.ToFloat64(h.metrics.requests.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("mcp_requests_total%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if got := testutil.ToFloat64(h.metrics.sessions.WithLabelValues("created")); got != 1 {
		t.Errorf("sessions created = %v", got)
	}
	if n, err := testutil.GatherAndCount(reg, "mcp_requests_total"); err != nil || n == 0 {
		t.Errorf("registry: %d series, %v", n, err)
	}

	ru.mu.Lock()
	for _, hd := range ru.headers {
		if hd.Get("Authorization") != "" || hd.Get("Cookie") != "" {
			t.Errorf("client credentials reached the target: %v", hd)
		}
		if tp := hd.Get("Traceparent"); !strings.HasPrefix(tp, "00-0af7651916cd43dd8448eb211c80319c-") {
			t.Errorf("traceparent upstream = %q, want the client's trace continued", tp)
		}
	}
	if got := ru.headers[len(ru.headers)-1].Get("Mcp-Session-Id"); got != "up-1" {
		t.Errorf("upstream session header = %q, want up-1", got)
	}
	ru.mu.Unlock()

	var call sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "mcp tools/call" {
			call = s
			break
		}
	}
	if call == nil {
		t.Fatalf("no mcp tools/call span among %d", len(rec.Ended()))
	}
	attrs := map[string]string{}
	for _, a := range call.Attributes() {
		attrs[string(a.Key)] = a.Value.String()
	}
	for k, want := range map[string]string{"mcp.method.name": "tools/call", "gen_ai.tool.name": "echo", "mcp.session.id": sessionTag(sid), "mcp.protocol.version": "2025-11-25"} {
		if attrs[k] != want {
			t.Errorf("span %s = %q, want %q (all: %v)", k, attrs[k], want, attrs)
		}
	}
	if call.Parent().TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("span parent trace %s, want the client's", call.Parent().TraceID())
	}
	if strings.Contains(fmt.Sprint(attrs), sid) {
		t.Error("span carries the raw session id")
	}
}

func TestMetricsSharedAcrossReloads(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMetrics(reg) // a reload registering again
	if err != nil {
		t.Fatal(err)
	}
	b.requests.WithLabelValues("ping", "", "ok").Inc()
	if got := testutil.ToFloat64(a.requests.WithLabelValues("ping", "", "ok")); got != 1 {
		t.Errorf("second registration does not feed the registered series: %v", got)
	}
}
