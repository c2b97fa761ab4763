package mcp

import "testing"

func TestRulesPermits(t *testing.T) {
	admin := map[string]any{"sub": "a", "roles": []any{"admin", "dev"}, "scope": "read write", "org": map[string]any{"tier": "gold"}}
	viewer := map[string]any{"sub": "v", "roles": []any{"viewer"}, "scope": "read"}
	tests := []struct {
		name   string
		rules  Rules
		target string
		tool   string
		claims map[string]any
		want   bool
	}{
		{"no rules", Rules{}, "t", "echo", nil, true},
		{"allow list hit", Rules{Allow: []string{"echo", "get-sum"}}, "t", "echo", nil, true},
		{"allow list miss", Rules{Allow: []string{"echo"}}, "t", "get-env", nil, false},
		{"allow by glob", Rules{Allow: []string{"get-*"}}, "t", "get-sum", nil, true},
		{"allow by target", Rules{Allow: []string{"t/*"}}, "t", "anything", nil, true},
		{"allow other target", Rules{Allow: []string{"u/*"}}, "t", "anything", nil, false},
		{"allow by prefixed name", Rules{Allow: []string{"t_echo"}}, "t", "echo", nil, true},
		{"deny wins", Rules{Allow: []string{"*"}, Deny: []string{"get-env"}}, "t", "get-env", nil, false},
		{"claim array ok", Rules{Claims: []ClaimRule{{Claim: "roles", Values: []string{"admin"}}}}, "t", "echo", admin, true},
		{"claim array miss", Rules{Claims: []ClaimRule{{Claim: "roles", Values: []string{"admin"}}}}, "t", "echo", viewer, false},
		{"claim absent", Rules{Claims: []ClaimRule{{Claim: "roles", Values: []string{"admin"}}}}, "t", "echo", nil, false},
		{"claim rule other tool", Rules{Claims: []ClaimRule{{Claim: "roles", Values: []string{"admin"}, Tools: []string{"get-env"}}}}, "t", "echo", viewer, true},
		{"scope words", Rules{Claims: []ClaimRule{{Claim: "scope", Values: []string{"write"}}}}, "t", "echo", admin, true},
		{"scope words miss", Rules{Claims: []ClaimRule{{Claim: "scope", Values: []string{"write"}}}}, "t", "echo", viewer, false},
		{"nested claim", Rules{Claims: []ClaimRule{{Claim: "org.tier", Values: []string{"gold"}}}}, "t", "echo", admin, true},
		{"string claim", Rules{Claims: []ClaimRule{{Claim: "sub", Values: []string{"v"}}}}, "t", "echo", viewer, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exposed := tt.tool
			if tt.name == "allow by prefixed name" {
				exposed = tt.target + "_" + tt.tool
			}
			if got := tt.rules.permits(tt.target, tt.tool, exposed, tt.claims); got != tt.want {
				t.Errorf("permits = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []Rules{{Allow: []string{"["}}, {Claims: []ClaimRule{{Claim: "x"}}}} {
		if err := bad.validate(); err == nil {
			t.Errorf("validate(%+v) = nil", bad)
		}
	}
}

func TestAuthorizationCEL(t *testing.T) {
	alice := map[string]any{"sub": "alice", "groups": []any{"eng"}}
	bob := map[string]any{"sub": "bob"}
	tests := []struct {
		name   string
		auths  []Authorization
		tool   string
		claims map[string]any
		want   bool
	}{
		{"agentgateway example allows", []Authorization{{Expressions: []string{`jwt.sub == "alice" && mcp.tool.name == "get-sum"`}}}, "get-sum", alice, true},
		{"agentgateway example other tool", []Authorization{{Expressions: []string{`jwt.sub == "alice" && mcp.tool.name == "get-sum"`}}}, "echo", alice, false},
		{"agentgateway example other user", []Authorization{{Expressions: []string{`jwt.sub == "alice" && mcp.tool.name == "get-sum"`}}}, "get-sum", bob, false},
		{"no token: missing claim is false", []Authorization{{Expressions: []string{`jwt.sub == "alice"`}}}, "echo", nil, false},
		{"any expression", []Authorization{{Expressions: []string{`mcp.tool.name == "x"`, `mcp.tool.target == "t"`}}}, "echo", nil, true},
		{"deny", []Authorization{{Action: ActionDeny, Expressions: []string{`mcp.tool.name.startsWith("toggle-")`}}}, "toggle-simulated-logging", alice, false},
		{"deny other", []Authorization{{Action: ActionDeny, Expressions: []string{`mcp.tool.name.startsWith("toggle-")`}}}, "echo", alice, true},
		{"require", []Authorization{{Action: ActionRequire, Expressions: []string{`"eng" in jwt.groups`}}}, "echo", alice, true},
		{"require unmet", []Authorization{{Action: ActionRequire, Expressions: []string{`"eng" in jwt.groups`}}}, "echo", bob, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Rules{Authorizations: tt.auths}
			if err := r.validate(); err != nil {
				t.Fatal(err)
			}
			if got := r.permits("t", tt.tool, tt.tool, tt.claims); got != tt.want {
				t.Errorf("permits = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []Authorization{{Expressions: []string{`mcp.tool.name ==`}}, {Expressions: []string{`"a"`}}, {Action: "Maybe", Expressions: []string{"true"}}, {}} {
		r := Rules{Authorizations: []Authorization{bad}}
		if err := r.validate(); err == nil {
			t.Errorf("validate(%+v) = nil", bad)
		}
	}
}
