package mcp

import (
	"strings"
	"testing"
)

func TestNewRejectsBadConfig(t *testing.T) {
	ok := []Target{{Name: "a", URL: "http://127.0.0.1:1/mcp"}}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no targets", Config{SessionKey: testKey}, "no targets"},
		{"bad name", Config{Targets: []Target{{Name: "Bad_Name", URL: "http://x/mcp"}}, SessionKey: testKey}, "lowercase DNS"},
		{"duplicate", Config{Targets: append(ok, ok[0]), SessionKey: testKey}, "duplicate"},
		{"relative URL", Config{Targets: []Target{{Name: "a", URL: "/mcp"}}, SessionKey: testKey}, "absolute http"},
		{"protocol", Config{Targets: []Target{{Name: "a", URL: "http://x/mcp", Protocol: "grpc"}}, SessionKey: testKey}, "unknown protocol"},
		{"routing", Config{Targets: ok, SessionRouting: "Sticky", SessionKey: testKey}, "sessionRouting"},
		{"failure mode", Config{Targets: ok, FailureMode: "Maybe", SessionKey: testKey}, "failureMode"},
		{"short key", Config{Targets: ok, SessionKey: []byte("short")}, "32 bytes"},
		{"no key", Config{Targets: ok}, "32 bytes"},
		{"bad rule", Config{Targets: ok, SessionKey: testKey, Rules: Rules{Deny: []string{"["}}}, "pattern"},
		{"bad CEL", Config{Targets: ok, SessionKey: testKey, Rules: Rules{Authorizations: []Authorization{{Expressions: []string{"jwt."}}}}}, "matchExpressions[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
