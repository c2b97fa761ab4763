package mcp

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpandSelector(t *testing.T) {
	app := func(v string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": v}}
	}
	services := []Service{
		{Name: "everything", Namespace: "mcp", Labels: map[string]string{"app": "everything"}, Ports: []ServicePort{
			{Name: "http", Port: 3001, AppProtocol: "agentgateway.dev/mcp"},
			{Name: "metrics", Port: 9090},
			{Port: 3002, AppProtocol: "agentgateway.dev/mcp-sse"},
		}},
		{Name: "legacy", Namespace: "mcp", Labels: map[string]string{"app": "legacy"}, Annotations: map[string]string{"kgateway.dev/mcp-path": "/v1/mcp"},
			Ports: []ServicePort{{Name: "mcp", Port: 80, AppProtocol: "kgateway.dev/mcp"}, {Name: "sse", Port: 81, AppProtocol: "kgateway.dev/mcp-sse"}}},
		{Name: "pathed", Namespace: "tools", Labels: map[string]string{"app": "everything"}, Annotations: map[string]string{"agentgateway.dev/mcp-path": "custom"},
			Ports: []ServicePort{{Name: "mcp", Port: 8080, AppProtocol: "agentgateway.dev/mcp"}}},
		{Name: "plain", Namespace: "mcp", Labels: map[string]string{"app": "plain"}, Ports: []ServicePort{{Name: "http", Port: 80, AppProtocol: "http"}}},
	}
	namespaces := []Namespace{{Name: "mcp", Labels: map[string]string{"team": "a"}}, {Name: "tools", Labels: map[string]string{"team": "a"}}, {Name: "other"}}
	tests := []struct {
		name string
		sel  Selector
		want []Target
	}{
		{"own namespace only", Selector{Services: app("everything")}, []Target{
			{Name: "everything-3002", URL: "http://everything.mcp.svc.cluster.local:3002/sse", Protocol: SSE},
			{Name: "everything-http", URL: "http://everything.mcp.svc.cluster.local:3001/mcp", Protocol: StreamableHTTP},
		}},
		{"namespaces by label", Selector{Namespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, Services: app("everything")}, []Target{
			{Name: "everything-3002", URL: "http://everything.mcp.svc.cluster.local:3002/sse", Protocol: SSE},
			{Name: "everything-http", URL: "http://everything.mcp.svc.cluster.local:3001/mcp", Protocol: StreamableHTTP},
			{Name: "pathed-mcp", URL: "http://pathed.tools.svc.cluster.local:8080/custom", Protocol: StreamableHTTP},
		}},
		{"legacy appProtocol and annotation", Selector{Services: app("legacy")}, []Target{
			{Name: "legacy-mcp", URL: "http://legacy.mcp.svc.cluster.local:80/v1/mcp", Protocol: StreamableHTTP},
			{Name: "legacy-sse", URL: "http://legacy.mcp.svc.cluster.local:81/v1/mcp", Protocol: SSE},
		}},
		{"no MCP port", Selector{Services: app("plain")}, nil},
		{"matches nothing", Selector{Services: app("absent")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandSelector("mcp", tt.sel, namespaces, services, "")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := ExpandSelector("mcp", Selector{}, nil, services, ""); err == nil {
		t.Error("empty selector accepted")
	}
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}
	if _, err := ExpandSelector("mcp", Selector{Services: bad}, nil, services, ""); err == nil {
		t.Error("invalid label selector accepted")
	}
}

func TestStaticTarget(t *testing.T) {
	tests := []struct {
		host  string
		port  int32
		path  string
		proto Protocol
		want  Target
	}{
		{"mcp.example.com", 443, "", "", Target{Name: "t", URL: "http://mcp.example.com:443/mcp", Protocol: StreamableHTTP}},
		{"10.0.0.1", 3001, "/x", SSE, Target{Name: "t", URL: "http://10.0.0.1:3001/x", Protocol: SSE}},
		{"::1", 8080, "", SSE, Target{Name: "t", URL: "http://[::1]:8080/sse", Protocol: SSE}},
	}
	for _, tt := range tests {
		if got := StaticTarget("t", tt.host, tt.port, tt.path, tt.proto); got != tt.want {
			t.Errorf("StaticTarget(%s) = %+v, want %+v", tt.host, got, tt.want)
		}
	}
}
