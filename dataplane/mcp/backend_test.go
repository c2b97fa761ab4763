package mcp

import (
	"reflect"
	"testing"

	"github.com/infergw/gwctl/pkg/gateway"
)

func TestBackendConfig(t *testing.T) {
	b := &gateway.Backend{Kind: gateway.KindMCP, MCP: &gateway.MCPBackend{FailOpen: true, Targets: []gateway.MCPTarget{
		{Name: "everything-http", Address: "everything.mcp.svc.cluster.local:3001", Protocol: "StreamableHTTP"},
		{Name: "old", Address: "10.0.0.1:8080", Protocol: "SSE"},
		{Name: "custom", Address: "h:1", Path: "v1/mcp"},
	}}, MCPAuthorization: &gateway.MCPAuthorization{Expressions: []string{`mcp.tool.name == "echo"`}}}
	got, err := BackendConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{SessionRouting: Stateful, FailureMode: FailOpen, Targets: []Target{
		{Name: "everything-http", URL: "http://everything.mcp.svc.cluster.local:3001/mcp", Protocol: StreamableHTTP},
		{Name: "old", URL: "http://10.0.0.1:8080/sse", Protocol: SSE},
		{Name: "custom", URL: "http://h:1/v1/mcp", Protocol: StreamableHTTP},
	}, Rules: Rules{Authorizations: []Authorization{{Expressions: []string{`mcp.tool.name == "echo"`}}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	got.SessionKey = testKey
	if _, err := New(got, Deps{}); err != nil {
		t.Errorf("New(BackendConfig) = %v", err)
	}
	if _, err := BackendConfig(&gateway.Backend{Kind: gateway.KindService}); err == nil {
		t.Error("non-MCP backend accepted")
	}
}
