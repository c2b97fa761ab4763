package reliability

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// A recognisable fake provider key and client token go through every path that could leak
// them (success, provider errors that echo the key, invalid client tokens, streams, MCP): no log
// line, response body or header, metric, admin page or rendered file contains either.
func TestSecretsNeverLeak(t *testing.T) {
	f := startFaultServer(t)
	iss := startIssuer(t)
	everything := startEverythingOrSkip(t)
	_, addrs := startSims(t, 1, "llama-3-8b-instruct")
	stream, res := renderPlatform(t, []string{"egress", "mcp"}, append(append(egressSet(f.Port), identitySet(iss.OIDCIssuer, iss.Port)...), "mcp.requests=1000", "mcp.bucket=1000"))
	gw := startGateway(t, res, gwOptions{
		Resolve: map[string]string{"mcp-server-everything.mcp": everything, "dex.dex": "127.0.0.1:" + fmt.Sprint(iss.Port)},
		Pools:   map[string][]string{"vllm.inference": addrs},
	})
	var seen bytes.Buffer
	record := func(st int, h http.Header, b []byte) {
		fmt.Fprintf(&seen, "%d %v %s\n", st, h, b)
	}
	echoKey := func(status int) func(c *net.TCPConn, r *http.Request) {
		return func(c *net.TCPConn, r *http.Request) {
			b := fmt.Sprintf(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key %s (client said %s)"}}`, r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"))
			writeHead(c, status, "application/json", len(b))
			_, _ = io.WriteString(c, b)
		}
	}
	chat := gw.URL + "/v1/chat/completions"
	auth := []string{"Authorization", "Bearer " + clientToken}
	for _, step := range []struct {
		mode   func(c *net.TCPConn, r *http.Request)
		body   string
		header []string
	}{
		{okUpstream, chatBody("claude-haiku-4-5", false), auth},
		{echoKey(401), chatBody("claude-haiku-4-5", false), auth},
		{echoKey(403), chatBody("claude-haiku-4-5", true), auth},
		{echoKey(500), chatBody("claude-haiku-4-5", false), []string{"X-Api-Key", clientToken}},
		{func(c *net.TCPConn, _ *http.Request) { reset(c) }, chatBody("claude-haiku-4-5", false), auth},
		{okUpstream, `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"` + clientToken + `"}],"max_tokens":"` + clientToken + `"}`, auth},
		{okUpstream, chatBody("llama-3-8b-instruct", true), auth},
		{okUpstream, chatBody(clientToken, false), auth},
	} {
		f.set(step.mode)
		record(post(t, chat, "application/json", step.body, step.header...))
	}
	record(mcpPing(t, gw.URL, clientToken))
	record(mcpPing(t, gw.URL, iss.Token(t, "")))
	record(post(t, gw.URL+"/mcp?token="+clientToken, "application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, "Accept", "application/json, text/event-stream"))

	for _, p := range []string{gw.Admin + "/metrics", gw.Debug + "/configz", gw.Admin + "/readyz", gw.Admin + "/healthz"} {
		resp, err := http.Get(p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		record(resp.StatusCode, resp.Header, b)
	}
	if !strings.Contains(seen.String(), "dataplane_requests_total") {
		t.Fatal("the /metrics scrape is missing: the check would prove nothing")
	}
	if reqs := f.requests(); len(reqs) == 0 || reqs[0].Header.Get("X-Api-Key") != providerKey {
		t.Fatal("the provider never received the key: the check would prove nothing")
	}
	for name, text := range map[string]string{
		"responses and admin endpoints": seen.String(),
		"logs":                          gw.Logs.String(),
		"rendered stream":               string(stream),
		"rendered resources.yaml":       string(res),
	} {
		for _, secret := range []string{providerKey, clientToken} {
			if i := strings.Index(text, secret); i >= 0 {
				lo := max(0, i-200)
				t.Errorf("%s contain %q: …%s…", name, secret, text[lo:min(len(text), i+100)])
			}
		}
	}
	t.Logf("checked %d KiB of responses, metrics and admin pages, %d KiB of logs, %d KiB rendered", seen.Len()>>10, len(gw.Logs.String())>>10, len(stream)>>10)
}
