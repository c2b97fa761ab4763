package gateway

import "strings"

// HostMatches reports whether host (exact, lower case, no port) matches pattern: "" matches
// everything, "*.example.com" matches any name with at least one more label, else equality.
func HostMatches(pattern, host string) bool {
	if pattern == "" {
		return true
	}
	if strings.HasPrefix(pattern, "*.") {
		suffix := pattern[1:] // ".example.com"
		return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
	}
	return pattern == host
}

// intersectHostnames returns the hostnames a route serves on a listener: for each route
// hostname, the more specific of it and the listener's hostname when they overlap. A nil,
// non-empty-check result means no overlap; [""] means any host.
func intersectHostnames(listener string, route []string) []string {
	if len(route) == 0 {
		return []string{listener}
	}
	if listener == "" {
		return dedupe(route)
	}
	var out []string
	for _, h := range route {
		switch {
		case h == listener:
			out = append(out, h)
		case !isWildcard(h) && HostMatches(listener, h):
			out = append(out, h)
		case isWildcard(h) && !isWildcard(listener) && HostMatches(h, listener):
			out = append(out, listener)
		case isWildcard(h) && isWildcard(listener):
			// The longer wildcard is inside the shorter one when it ends with the shorter's suffix.
			if strings.HasSuffix(h[1:], listener[1:]) {
				out = append(out, h)
			} else if strings.HasSuffix(listener[1:], h[1:]) {
				out = append(out, listener)
			}
		}
	}
	return dedupe(out)
}

func isWildcard(h string) bool { return strings.HasPrefix(h, "*.") }

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
