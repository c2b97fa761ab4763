package gateway

import (
	"net/textproto"
	"regexp"
	"strings"
)

// compileMatch compiles one HTTPRouteMatch; ok is false when it cannot be served (a finding says why).
func (c *compiler) compileMatch(mf field) (Match, bool) {
	var m Match
	ok := true
	pf := mf.get("path")
	m.Path = PathMatch{Type: PathType(pf.get("type").strOr(string(PathPrefix))), Value: pf.get("value").strOr("/")}
	switch m.Path.Type {
	case PathExact:
	case PathPrefix:
		if m.Path.Value != "/" {
			m.Path.Value = strings.TrimRight(m.Path.Value, "/")
			if m.Path.Value == "" {
				m.Path.Value = "/"
			}
		}
	case PathRegex:
		re, err := anchored(m.Path.Value)
		if err != nil {
			pf.get("value").errorf(ruleRegex, "invalid regular expression %q: %v", m.Path.Value, err)
			ok = false
		}
		m.Path.Regexp = re
	default:
		pf.get("type").errorf(ruleType, "unknown path match type %q", m.Path.Type)
		ok = false
	}
	var vok bool
	m.Headers, vok = valueMatches(mf.get("headers"), true)
	ok = ok && vok
	m.QueryParams, vok = valueMatches(mf.get("queryParams"), false)
	ok = ok && vok
	m.Method = mf.get("method").str()
	return m, ok
}

func valueMatches(f field, header bool) ([]ValueMatch, bool) {
	var out []ValueMatch
	ok := true
	seen := map[string]bool{}
	for _, hf := range f.list() {
		name := hf.get("name").str()
		if header {
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		if seen[name] {
			// The spec: only the first match with an equivalent name counts.
			hf.get("name").warnf(ruleDuplicate, "duplicate match on %q (names compare case-insensitively for headers): only the first one is used", name)
			continue
		}
		seen[name] = true
		vm := ValueMatch{Name: name, Type: MatchType(hf.get("type").strOr(string(MatchExact))), Value: hf.get("value").str()}
		switch vm.Type {
		case MatchExact:
		case MatchRegex:
			re, err := anchored(vm.Value)
			if err != nil {
				hf.get("value").errorf(ruleRegex, "invalid regular expression %q: %v", vm.Value, err)
				ok = false
				continue
			}
			vm.Regexp = re
		default:
			hf.get("type").errorf(ruleType, "unknown match type %q", vm.Type)
			ok = false
			continue
		}
		out = append(out, vm)
	}
	return out, ok
}

// anchored compiles a regular expression (RE2) that must match the whole value, as Envoy does.
func anchored(expr string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(expr); err != nil {
		return nil, err
	}
	return regexp.Compile("^(?:" + expr + ")$")
}
