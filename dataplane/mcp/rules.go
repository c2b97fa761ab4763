package mcp

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Rules decide which tools a caller may list and call. A tool is permitted when
//   - Allow is empty or one of its patterns matches the tool,
//   - no Deny pattern matches it, and
//   - every claim rule whose Tools match it is satisfied by the caller's JWT claims.
//
// A pattern matches the tool's own name ("get-sum"), its client-facing name ("everything_get-sum")
// or "<target>/<name>" ("everything/get-sum"), with path.Match wildcards ("get-*", "everything/*").
// A refused tool is absent from tools/list and a tools/call of it gets a JSON-RPC error.
type Rules struct {
	Allow  []string
	Deny   []string
	Claims []ClaimRule
	// Authorizations are agentgateway's CEL rules (spec.backend.mcp.authorization), applied after the lists.
	Authorizations []Authorization

	compiled []celRule
}

// ClaimRule requires a JWT claim for some tools. Claim is a claim name or a dotted path into
// nested objects ("realm_access.roles"); the rule is satisfied when the claim's value (or one element
// of it, when it is an array; or one word of it, when it is the space-separated "scope" claim) equals
// one of Values. An absent claim never satisfies a rule. Tools empty means every tool.
type ClaimRule struct {
	Claim  string
	Values []string
	Tools  []string
}

func (r *Rules) validate() error {
	check := func(where string, pats []string) error {
		for _, p := range pats {
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("mcp rules: %s pattern %q: %w", where, p, err)
			}
		}
		return nil
	}
	if err := check("allow", r.Allow); err != nil {
		return err
	}
	if err := check("deny", r.Deny); err != nil {
		return err
	}
	for i, c := range r.Claims {
		if c.Claim == "" || len(c.Values) == 0 {
			return fmt.Errorf("mcp rules: claims[%d]: claim and values are required", i)
		}
		if err := check(fmt.Sprintf("claims[%d].tools", i), c.Tools); err != nil {
			return err
		}
	}
	compiled, err := compileAuthorizations(r.Authorizations)
	if err != nil {
		return err
	}
	r.compiled = compiled
	return nil
}

func (r *Rules) empty() bool {
	return len(r.Allow) == 0 && len(r.Deny) == 0 && len(r.Claims) == 0 && len(r.Authorizations) == 0
}

// permits reports whether the caller with claims may use tool name of target (exposed is the
// client-facing name, prefixed or not).
func (r *Rules) permits(target, name, exposed string, claims map[string]any) bool {
	if len(r.Allow) > 0 && !matchAny(r.Allow, target, name, exposed) {
		return false
	}
	if matchAny(r.Deny, target, name, exposed) {
		return false
	}
	for _, c := range r.Claims {
		if len(c.Tools) > 0 && !matchAny(c.Tools, target, name, exposed) {
			continue
		}
		if !claimMatches(claims, c.Claim, c.Values) {
			return false
		}
	}
	return celPermits(r.compiled, target, name, claims)
}

func matchAny(patterns []string, target, name, exposed string) bool {
	qualified := target + "/" + name
	for _, p := range patterns {
		for _, s := range [...]string{name, exposed, qualified} {
			if ok, _ := path.Match(p, s); ok {
				return true
			}
		}
	}
	return false
}

func claimMatches(claims map[string]any, claim string, values []string) bool {
	v, ok := lookupClaim(claims, claim)
	if !ok {
		return false
	}
	switch x := v.(type) {
	case string:
		if claim == "scope" || claim == "scp" {
			for _, w := range strings.Fields(x) {
				if slices.Contains(values, w) {
					return true
				}
			}
			return false
		}
		return slices.Contains(values, x)
	case []string:
		for _, e := range x {
			if slices.Contains(values, e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && slices.Contains(values, s) {
				return true
			}
			if s := fmt.Sprint(e); slices.Contains(values, s) {
				return true
			}
		}
	case bool, float64, int, int64:
		return slices.Contains(values, fmt.Sprint(x))
	}
	return false
}

func lookupClaim(claims map[string]any, claim string) (any, bool) {
	if v, ok := claims[claim]; ok {
		return v, true
	}
	var cur any = claims
	for part := range strings.SplitSeq(claim, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// ReadOnlyEverythingTools are the tools of @modelcontextprotocol/server-everything 2026.8.31 annotated
// readOnlyHint: true, except get-env, which returns the server's whole environment. The bundled mcp
// group allows these.
var ReadOnlyEverythingTools = []string{
	"echo", "get-annotated-message", "get-resource-links", "get-resource-reference", "get-roots-list",
	"get-structured-content", "get-sum", "get-tiny-image", "trigger-long-running-operation",
}
