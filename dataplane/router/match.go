package router

import (
	"net/http"
	"strings"

	"github.com/infergw/gwctl/pkg/gateway"
)

// entry is one HTTPRouteMatch of one rule on one hostname, with the handler serving it.
type entry struct {
	hostname string
	port     int32 // the listener's port
	secure   bool  // the listener is HTTPS
	// listenerHost is the listener's hostname ("" for any), for listener isolation.
	listenerHost string
	match        gateway.Match
	rule         *rule
	// precedence keys
	route            *gateway.Route
	ruleIdx, matchIx int
}

// matches reports whether every condition of the match holds for r.
func (e *entry) matches(r *http.Request) bool {
	m := &e.match
	if m.Method != "" && r.Method != m.Method {
		return false
	}
	if !pathMatches(&m.Path, r.URL.Path) {
		return false
	}
	for i := range m.Headers {
		if !headerMatches(&m.Headers[i], r.Header) {
			return false
		}
	}
	if len(m.QueryParams) > 0 && !queryMatches(m.QueryParams, r.URL.RawQuery) {
		return false
	}
	return true
}

func pathMatches(p *gateway.PathMatch, path string) bool {
	if path == "" {
		path = "/"
	}
	// A ";params" suffix belongs to its path element (the server normalised the path and keeps
	// ";" as segment data, forwarding it as matched): /foo covers /foo;x and /foo;x/bar, which
	// servers that strip path parameters (Tomcat, Spring) serve as /foo and /foo/bar.
	switch p.Type {
	case gateway.PathExact:
		return path == p.Value || strings.HasPrefix(path, p.Value) && path[len(p.Value)] == ';' && !strings.Contains(path[len(p.Value):], "/")
	case gateway.PathPrefix:
		if p.Value == "/" {
			return true
		}
		// Element-wise: /foo matches /foo and /foo/bar, not /foobar.
		return strings.HasPrefix(path, p.Value) && (len(path) == len(p.Value) || path[len(p.Value)] == '/' || path[len(p.Value)] == ';')
	case gateway.PathRegex:
		return p.Regexp != nil && p.Regexp.MatchString(path)
	}
	return false
}

func headerMatches(m *gateway.ValueMatch, h http.Header) bool {
	vs := h[m.Name]
	if len(vs) == 0 {
		return false
	}
	v := vs[0]
	if len(vs) > 1 {
		v = strings.Join(vs, ",") // as Envoy presents repeated headers
	}
	return valueMatches(m, v)
}

func valueMatches(m *gateway.ValueMatch, v string) bool {
	if m.Type == gateway.MatchRegex {
		return m.Regexp != nil && m.Regexp.MatchString(v)
	}
	return v == m.Value
}

// queryMatches checks query parameter matches against the raw query without building a map;
// the first occurrence of a name is the one matched, as the Gateway API specifies.
func queryMatches(ms []gateway.ValueMatch, raw string) bool {
	for i := range ms {
		v, ok := queryValue(raw, ms[i].Name)
		if !ok || !valueMatches(&ms[i], v) {
			return false
		}
	}
	return true
}

func queryValue(raw, name string) (string, bool) {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+") {
			k = unescape(k)
		}
		if k != name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			v = unescape(v)
		}
		return v, true
	}
	return "", false
}

// less orders entries by the Gateway API's precedence: exact path, then (our choice for the
// implementation-specific RegularExpression) regex by pattern length, then the longest prefix;
// then method; most header matches; most query matches; oldest route; route namespace/name;
// rule order; match order.
func less(a, b *entry) bool {
	if ra, rb := pathRank(a.match.Path.Type), pathRank(b.match.Path.Type); ra != rb {
		return ra < rb
	}
	if la, lb := len(a.match.Path.Value), len(b.match.Path.Value); la != lb {
		return la > lb
	}
	if ma, mb := a.match.Method != "", b.match.Method != ""; ma != mb {
		return ma
	}
	if ha, hb := len(a.match.Headers), len(b.match.Headers); ha != hb {
		return ha > hb
	}
	if qa, qb := len(a.match.QueryParams), len(b.match.QueryParams); qa != qb {
		return qa > qb
	}
	if a.route != b.route {
		ta, tb := a.route.Created, b.route.Created
		if !ta.Equal(tb) {
			if ta.IsZero() || tb.IsZero() {
				return !ta.IsZero()
			}
			return ta.Before(tb)
		}
		if ia, ib := a.route.ID(), b.route.ID(); ia != ib {
			return ia < ib
		}
	}
	if a.ruleIdx != b.ruleIdx {
		return a.ruleIdx < b.ruleIdx
	}
	return a.matchIx < b.matchIx
}

func pathRank(t gateway.PathType) int {
	switch t {
	case gateway.PathExact:
		return 0
	case gateway.PathRegex:
		return 1
	}
	return 2
}
