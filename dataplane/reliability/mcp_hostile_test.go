package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Hostile MCP clients (with a valid token, past JWT): malformed JSON-RPC gets a JSON-RPC error,
// batch bombs and huge params are answered in bounded time.
func TestHostileMCP(t *testing.T) {
	iss := startIssuer(t)
	everything := startEverythingOrSkip(t)
	_, res := renderPlatform(t, []string{"mcp"}, append(identitySet(iss.OIDCIssuer, iss.Port), "mcp.requests=10000", "mcp.bucket=10000"))
	gw := startGateway(t, res, gwOptions{MaxRequestBody: 1 << 20, Resolve: map[string]string{
		"mcp-server-everything.mcp": everything, "dex.dex": "127.0.0.1:" + strconv.Itoa(iss.Port),
	}})
	token := iss.Token(t, "")
	send := func(ctype, body string) (int, []byte, time.Duration) {
		start := time.Now()
		st, _, b := post(t, gw.URL+"/mcp", ctype, body, "Authorization", "Bearer "+token, "Accept", "application/json, text/event-stream")
		return st, b, time.Since(start)
	}
	jsonRPCError := func(t *testing.T, st int, b []byte) {
		t.Helper()
		var e struct {
			JSONRPC string `json:"jsonrpc"`
			Error   *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		// A JSON-RPC error, possibly framed as one SSE event.
		body := string(b)
		if i := strings.Index(body, "data: "); i >= 0 {
			body = strings.TrimSpace(strings.SplitN(body[i+6:], "\n", 2)[0])
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.JSONRPC != "2.0" || e.Error == nil || e.Error.Code == 0 {
			t.Fatalf("status %d: not a JSON-RPC error: %.300s", st, b)
		}
	}
	for _, tc := range []struct{ name, ctype, body string }{
		{"invalid JSON", "application/json", `{"jsonrpc":"2.0","id":1,"method":`},
		{"binary junk", "application/json", "\x00\xff{\x01"},
		{"not JSON-RPC", "application/json", `{"hello":"world"}`},
		{"unknown method before initialize", "application/json", `{"jsonrpc":"2.0","id":1,"method":"evil/exec"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b, took := send(tc.ctype, tc.body)
			if st < 400 && st != 200 || took > 5*time.Second {
				t.Fatalf("status %d after %s: %.300s", st, took, b)
			}
			jsonRPCError(t, st, b)
		})
	}
	t.Run("wrong content type is refused", func(t *testing.T) {
		st, b, _ := send("text/plain", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
		if st < 400 || st >= 500 {
			t.Fatalf("status %d: %.300s", st, b)
		}
	})
	t.Run("a batch of 10 000 tool calls is refused at once", func(t *testing.T) {
		var sb strings.Builder
		sb.WriteString("[")
		for i := 0; i < 10000; i++ {
			if i > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x"}}}`, i)
		}
		sb.WriteString("]")
		st, b, took := send("application/json", sb.String())
		t.Logf("status %d after %s: %.200s", st, took, b)
		if took > 10*time.Second || st != http.StatusBadRequest {
			t.Fatalf("status %d after %s", st, took)
		}
		jsonRPCError(t, st, b) // batches were removed in MCP 2025-06-18

	})
	t.Run("huge params: 413", func(t *testing.T) {
		st, b, _ := send("application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"`+strings.Repeat("x", 2<<20)+`"}}}`)
		if st != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d: %.300s", st, b)
		}
	})
	t.Run("the gateway still serves", func(t *testing.T) {
		if st, _, b := mcpPing(t, gw.URL, token); st == http.StatusUnauthorized || st >= 500 {
			t.Fatalf("%d %s", st, b)
		}
	})
}
