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

// CheckGeminiModel reports a Gemini model id that cannot be the path segment it becomes in the
// upstream URL (/models/<id>:generateContent): only letters, digits, '-', '_' and '.', not "."
// or "..", at most 256 bytes, optionally after "models/". Compile checks
// spec.ai.provider.gemini.model with it and the dataplane checks every request's model the same way.
func CheckGeminiModel(model string) error {
	name := strings.TrimPrefix(model, "models/")
	ok := name != "" && len(name) <= 256 && name != "." && name != ".."
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if !ok {
		return fmt.Errorf("model %q is not a Gemini model id (letters, digits, '-', '_' and '.', optionally after \"models/\")", model)
	}
	return nil
}
