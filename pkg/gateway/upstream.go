package gateway

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// CheckUpstreamHost reports why host, with port (0: the scheme's default), cannot be the
// authority of an upstream URL: a path, query, fragment or credentials in it, a port out of
// range, or a character a URL host cannot hold. Compile checks spec.ai provider hosts with it
// and the dataplane's LLM handlers build their URLs after the same check.
func CheckUpstreamHost(host string, port int) error {
	if strings.ContainsAny(host, "/?#@") {
		return fmt.Errorf("host %q must be a host name or IP", host)
	}
	if port < 0 || port > 65535 {
		return fmt.Errorf("port %d out of range", port)
	}
	if port != 0 {
		host = net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
	}
	u := url.URL{Scheme: "https", Host: host, Path: "/"}
	if _, err := url.Parse(u.String()); err != nil {
		return fmt.Errorf("invalid base URL: %w", err)
	}
	return nil
}

// checkTargetURL reports why http://address+path cannot be an MCP target's URL, as the MCP
// handler builds and checks it.
func checkTargetURL(address, path string) error {
	u, err := url.Parse("http://" + address + path)
	if err != nil {
		return err
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", "http://"+address+path)
	}
	return nil
}
