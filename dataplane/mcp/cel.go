package mcp

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/infergw/gwctl/pkg/gateway"
)

// Action is what an Authorization rule does when its expressions match (AgentgatewayPolicy
// spec.backend.mcp.authorization.action).
type Action string

const (
	// ActionAllow: when any Allow rule exists, a tool must match one of them.
	ActionAllow Action = "Allow"
	// ActionDeny: a tool matching a Deny rule is refused.
	ActionDeny Action = "Deny"
	// ActionRequire: a tool must match every Require rule.
	ActionRequire Action = "Require"
)

// Authorization is one agentgateway MCP authorization policy: CEL expressions over
// mcp.tool.name, mcp.tool.target and jwt.<claim> (e.g. `jwt.sub == "alice" && mcp.tool.name == "get-sum"`).
// A rule matches a tool when any of its expressions is true; an expression that errors (a claim the
// token lacks) is false.
type Authorization struct {
	Action      Action
	Expressions []string
}

type celRule struct {
	action Action
	progs  []cel.Program
}

func compileAuthorizations(auths []Authorization) ([]celRule, error) {
	if len(auths) == 0 {
		return nil, nil
	}
	env, err := gateway.MCPAuthorizationEnv()
	if err != nil {
		return nil, fmt.Errorf("mcp authorization: CEL environment: %w", err)
	}
	out := make([]celRule, 0, len(auths))
	for i, a := range auths {
		switch a.Action {
		case "":
			a.Action = ActionAllow
		case ActionAllow, ActionDeny, ActionRequire:
		default:
			return nil, fmt.Errorf("mcp authorization[%d]: unknown action %q", i, a.Action)
		}
		if len(a.Expressions) == 0 {
			return nil, fmt.Errorf("mcp authorization[%d]: no expressions", i)
		}
		r := celRule{action: a.Action}
		for j, expr := range a.Expressions {
			ast, err := gateway.CompileMCPAuthorization(expr)
			if err != nil {
				return nil, fmt.Errorf("mcp authorization[%d].matchExpressions[%d] %q: %w", i, j, expr, err)
			}
			prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
			if err != nil {
				return nil, fmt.Errorf("mcp authorization[%d].matchExpressions[%d] %q: %w", i, j, expr, err)
			}
			r.progs = append(r.progs, prg)
		}
		out = append(out, r)
	}
	return out, nil
}

// celPermits applies compiled authorization rules to a tool.
func celPermits(rules []celRule, target, name string, claims map[string]any) bool {
	if len(rules) == 0 {
		return true
	}
	if claims == nil {
		claims = map[string]any{}
	}
	vars := map[string]any{
		"mcp": map[string]any{"tool": map[string]any{"name": name, "target": target}},
		"jwt": claims,
	}
	hasAllow, allowed := false, false
	for _, r := range rules {
		m := r.matches(vars)
		switch r.action {
		case ActionDeny:
			if m {
				return false
			}
		case ActionRequire:
			if !m {
				return false
			}
		case ActionAllow:
			hasAllow = true
			allowed = allowed || m
		}
	}
	return !hasAllow || allowed
}

func (r *celRule) matches(vars map[string]any) bool {
	for _, p := range r.progs {
		v, _, err := p.Eval(vars)
		if err == nil && v == types.True {
			return true
		}
	}
	return false
}
