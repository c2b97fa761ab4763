package mcp

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infergw/gwctl/dataplane/telemetry"
)

// Clients choose the method and tool names they send: 10,000 distinct ones must not make
// 10,000 series (the finding: a method label read before the session check grew /metrics to
// hundreds of MiB). Only specification methods and tools a target listed are label values.
func TestMetricLabelsBounded(t *testing.T) {
	const n = 10000
	for _, c := range []struct {
		name    string
		label   string
		session bool
		body    func(i int) string
		want    []string
	}{
		{
			name: "method, no session", label: "method",
			body: func(i int) string { return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"x/%d"}`, i, i) },
			want: []string{"initialize", "notifications/initialized", "tools/list", "tools/call", telemetry.LabelOther},
		},
		{
			name: "tool, in a session", label: "tool", session: true,
			body: func(i int) string {
				return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"t%d","arguments":{}}}`, i, i)
			},
			want: []string{"", "echo", telemetry.LabelOther},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			ru := &recordingUpstream{}
			reg := prometheus.NewRegistry()
			h, err := New(Config{Targets: []Target{{Name: "rec", URL: ru.start(t)}}, SessionKey: testKey}, Deps{Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			gw := httptest.NewServer(h)
			defer gw.Close()
			sid := initializeRaw(t, gw.URL)
			// One target, no rules: tools/list is passed through, and its names are learnt there.
			if r := postRaw(t, gw.URL, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, nil); r.StatusCode != http.StatusOK {
				t.Fatalf("tools/list: %d %s", r.StatusCode, r.body)
			}
			if r := postRaw(t, gw.URL, sid, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}}`, nil); r.StatusCode != http.StatusOK {
				t.Fatalf("tools/call echo: %d %s", r.StatusCode, r.body)
			}
			use := ""
			if c.session {
				use = sid
			}
			for i := 0; i < n; i++ {
				postRaw(t, gw.URL, use, c.body(i), nil)
			}
			got := labelValues(t, reg, "mcp_requests_total", c.label)
			if len(got) != len(c.want) {
				t.Fatalf("%s label values %v, want %v", c.label, got, c.want)
			}
			for _, w := range c.want {
				if !got[w] {
					t.Fatalf("%s label values %v, want %v", c.label, got, c.want)
				}
			}
			if methods := labelValues(t, reg, "mcp_server_operation_duration_seconds", "method"); len(methods) > 5 {
				t.Fatalf("duration method label values %v", methods)
			}
		})
	}
}

// labelValues are the values label takes among the series of metric in reg.
func labelValues(t *testing.T, reg *prometheus.Registry, metric, label string) map[string]bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] = true
				}
			}
		}
	}
	return out
}

// The MCP backend never dispatches JSON-RPC on a discovery path, whatever route sends it one
// (defence in depth behind the JWT policy, which answers those paths itself).
func TestWellKnownPathsAreNotMCPEndpoints(t *testing.T) {
	ru := &recordingUpstream{}
	h, err := New(Config{Targets: []Target{{Name: "rec", URL: ru.start(t)}}, SessionKey: testKey}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(h)
	defer gw.Close()
	for _, path := range []string{
		"/.well-known/oauth-authorization-server/mcp",
		"/.well-known/oauth-authorization-server/mcp/x",
		"/.well-known/oauth-protected-resource/mcp",
		"/.well-known/openid-configuration",
		"/.well-known",
	} {
		r := postRaw(t, gw.URL+path, "", initRequest, nil)
		if r.StatusCode != http.StatusNotFound || r.Header.Get("Mcp-Session-Id") != "" {
			t.Errorf("POST %s initialize: %d %s", path, r.StatusCode, r.body)
		}
	}
	ru.mu.Lock()
	reached := len(ru.headers)
	ru.mu.Unlock()
	if reached != 0 {
		t.Errorf("the target got %d requests", reached)
	}
	// The endpoint itself still works.
	if sid := initializeRaw(t, gw.URL+"/mcp"); sid == "" {
		t.Error("no session on /mcp")
	}
}
