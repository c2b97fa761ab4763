package jwt

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ParseOrigin checks an origin (http or https, a host, an optional port, nothing else; a trailing
// "/" is dropped) and returns it in canonical form: scheme and host lower case.
func ParseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%q: want http:// or https://", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%q: want scheme://host[:port] only", s)
	}
	host, ok := cleanHost(u.Host)
	if !ok {
		return "", fmt.Errorf("%q: invalid host", s)
	}
	return scheme + "://" + host, nil
}

// resourceOrigin is the origin of a resourceMetadata "resource" value, or "" when it is none.
func resourceOrigin(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", errors.New("resourceMetadata.resource is not a string")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("resourceMetadata.resource: %w", err)
	}
	return ParseOrigin(u.Scheme + "://" + u.Host)
}

// originFor is the scheme://host[:port] that the URLs handed to this request's client are built
// on: the configured origin when there is one; else the request's, only when its Host is a
// well-formed host name or IP address (a listener without hostname serves any Host, and the
// router only lets through the hostnames of the route). ok is false when there is neither: the
// caller then leaves the URL out rather than echo a Host it cannot vouch for.
func (a *Authenticator) originFor(r *http.Request) (string, bool) {
	if a.origin != "" {
		return a.origin, true
	}
	host, ok := cleanHost(r.Host)
	if !ok {
		return "", false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + host, true
}

// cleanHost returns host[:port] in canonical form (lower case, no trailing dot) when h is a DNS
// name of letters, digits, '-' and '_' (labels of 1..63, at most 253 in all), an IPv4 address or
// a bracketed IPv6 address without zone, with an optional port 1..65535; else false. Quotes,
// spaces, control characters, '@', '/', percent escapes and the like never pass.
func cleanHost(h string) (string, bool) {
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", false
		}
		host, port = h[:end+1], h[end+1:]
		ip := net.ParseIP(host[1:end])
		if ip == nil || ip.To4() != nil || strings.Contains(host, "%") {
			return "", false
		}
		host = "[" + ip.String() + "]"
	} else {
		if i := strings.LastIndexByte(h, ':'); i >= 0 {
			host, port = h[:i], h[i:]
		}
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		if !dnsName(host) {
			return "", false
		}
	}
	if port != "" {
		p := port[1:]
		if port[0] != ':' || len(p) == 0 || len(p) > 5 || strings.TrimLeft(p, "0123456789") != "" {
			return "", false
		}
		if n, _ := strconv.Atoi(p); n < 1 || n > 65535 {
			return "", false
		}
	}
	return host + port, true
}

func dnsName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
