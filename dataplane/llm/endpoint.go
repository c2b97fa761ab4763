package llm

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/infergw/gwctl/pkg/gateway"
)

// Endpoint is where a provider's API is reached: a host (with an optional port), a base path and
// the operation's path under it.
type Endpoint struct {
	// Provider names the provider in errors ("anthropic").
	Provider string
	// Host and Port override DefaultHost (Port 0: the scheme's default).
	Host, DefaultHost string
	Port              int
	// PathPrefix replaces DefaultPathPrefix (e.g. "/v1").
	PathPrefix, DefaultPathPrefix string
	// Plaintext uses http instead of https.
	Plaintext bool
	// Path is the operation under the prefix ("/messages", "/chat/completions").
	Path string
}

// URL builds and checks the endpoint's URL; a host with a path, query or credentials in it, or
// a port out of range, is an error.
func (e Endpoint) URL() (string, error) {
	host := e.Host
	if host == "" {
		host = e.DefaultHost
	}
	if err := gateway.CheckUpstreamHost(host, e.Port); err != nil {
		return "", fmt.Errorf("%s backend: %w", e.Provider, err)
	}
	if e.Port != 0 {
		host = net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(e.Port))
	}
	prefix := e.PathPrefix
	if prefix == "" {
		prefix = e.DefaultPathPrefix
	}
	prefix = "/" + strings.Trim(prefix, "/")
	scheme := "https"
	if e.Plaintext {
		scheme = "http"
	}
	u := url.URL{Scheme: scheme, Host: host, Path: strings.TrimSuffix(prefix, "/") + e.Path}
	if _, err := url.Parse(u.String()); err != nil {
		return "", fmt.Errorf("%s backend: invalid base URL: %w", e.Provider, err)
	}
	return u.String(), nil
}
