package router

import (
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/gateway"
)

// hostIndex finds the candidate entries for a request host. Entries of the most specific
// hostname come first (exact, then wildcards by length, then catch-all), each group in
// match precedence order, so a request falls through to less specific hostnames when no rule
// of a more specific one matches.
type hostIndex struct {
	exact map[string][]*entry
	wild  []wildBucket // longest suffix first
	any   []*entry
}

type wildBucket struct {
	pattern string // *.example.com
	entries []*entry
}

func buildHostIndex(all []*entry) *hostIndex {
	byHost := map[string][]*entry{}
	for _, e := range all {
		byHost[e.hostname] = append(byHost[e.hostname], e)
	}
	for _, es := range byHost {
		sort.SliceStable(es, func(i, j int) bool { return less(es[i], es[j]) })
	}
	var wild []string
	for h := range byHost {
		if strings.HasPrefix(h, "*.") {
			wild = append(wild, h)
		}
	}
	sort.Slice(wild, func(i, j int) bool {
		if len(wild[i]) != len(wild[j]) {
			return len(wild[i]) > len(wild[j])
		}
		return wild[i] < wild[j]
	})
	idx := &hostIndex{exact: map[string][]*entry{}, any: byHost[""]}
	// chain returns host's own entries, then every less specific matching group.
	chain := func(own []*entry, matchHost string, skipWild string) []*entry {
		out := append([]*entry(nil), own...)
		for _, w := range wild {
			if w == skipWild || len(w) > len(skipWild) && skipWild != "" {
				continue
			}
			if gateway.HostMatches(w, matchHost) {
				out = append(out, byHost[w]...)
			}
		}
		return append(out, byHost[""]...)
	}
	for h, es := range byHost {
		if h == "" || strings.HasPrefix(h, "*.") {
			continue
		}
		idx.exact[h] = chain(es, h, "")
	}
	for _, w := range wild {
		// A name under this wildcard also matches shorter wildcards whose suffix it ends with.
		idx.wild = append(idx.wild, wildBucket{pattern: w, entries: chain(byHost[w], "x"+w[1:], w)})
	}
	return idx
}

func (x *hostIndex) lookup(host string) []*entry {
	if es, ok := x.exact[host]; ok {
		return es
	}
	for i := range x.wild {
		if gateway.HostMatches(x.wild[i].pattern, host) {
			return x.wild[i].entries
		}
	}
	return x.any
}

// requestHost is the Host without port, lower-cased, without a trailing dot.
func requestHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
