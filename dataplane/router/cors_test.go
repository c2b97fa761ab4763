package router

import "testing"

func TestCORS(t *testing.T) {
	tb := build(t, route("r", `  rules:
  - matches: [{path: {type: PathPrefix, value: /mcp}}]
    filters:
    - type: CORS
      cors:
        allowOrigins: ["https://app.example.com", "https://*.tools.example.com"]
        allowCredentials: true
        allowMethods: [GET, POST, DELETE]
        allowHeaders: ["*"]
        exposeHeaders: [Mcp-Session-Id]
        maxAge: 86400
`+toA+`
  - matches: [{path: {type: PathPrefix, value: /open}}]
    filters:
    - {type: CORS, cors: {allowOrigins: ["*"]}}
`+toB))
	cases := []struct {
		name, method, path, origin string
		reqHeaders                 map[string]string
		status                     int
		backend                    string
		want                       map[string]string
	}{
		{"preflight allowed", "OPTIONS", "/mcp", "https://app.example.com",
			map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, mcp-session-id"},
			204, "", map[string]string{
				"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods": "GET, POST, DELETE", "Access-Control-Allow-Headers": "authorization, mcp-session-id",
				"Access-Control-Max-Age": "86400", "Vary": "Origin", "Access-Control-Expose-Headers": "Mcp-Session-Id",
			}},
		{"preflight wildcard subdomain", "OPTIONS", "/mcp", "https://a.tools.example.com",
			map[string]string{"Access-Control-Request-Method": "GET"}, 204, "", map[string]string{"Access-Control-Allow-Origin": "https://a.tools.example.com"}},
		{"preflight refused origin", "OPTIONS", "/mcp", "https://evil.example.org",
			map[string]string{"Access-Control-Request-Method": "GET"}, 204, "", map[string]string{"Access-Control-Allow-Origin": ""}},
		{"wildcard needs a subdomain", "OPTIONS", "/mcp", "https://tools.example.com",
			map[string]string{"Access-Control-Request-Method": "GET"}, 204, "", map[string]string{"Access-Control-Allow-Origin": ""}},
		{"actual request", "POST", "/mcp", "https://app.example.com", nil, 200, "a",
			map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Expose-Headers": "Mcp-Session-Id", "Access-Control-Allow-Credentials": "true"}},
		{"plain OPTIONS goes to the backend", "OPTIONS", "/mcp", "https://app.example.com", nil, 200, "a", nil},
		{"no origin, no CORS headers", "GET", "/mcp", "", nil, 200, "a", map[string]string{"Access-Control-Allow-Origin": ""}},
		{"any origin without credentials", "GET", "/open", "https://x.org", nil, 200, "b", map[string]string{"Access-Control-Allow-Origin": "*"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			for k, v := range tc.reqHeaders {
				hdr[k] = v
			}
			if tc.origin != "" {
				hdr["Origin"] = tc.origin
			}
			w := do(tb, req{method: tc.method, target: tc.path, headers: hdr})
			if w.Code != tc.status || w.Header().Get("X-Backend") != tc.backend {
				t.Fatalf("got %d from %q", w.Code, w.Header().Get("X-Backend"))
			}
			for k, v := range tc.want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
