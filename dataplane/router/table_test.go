package router

import (
	"fmt"
	"github.com/infergw/gwctl/dataplane/router/routertest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
)

const base = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: c, namespace: ns}
spec: {ports: [{port: 80}]}
---
`

// route renders an HTTPRoute in namespace ns attached to gw.
func route(name, body string) string {
	return fmt.Sprintf("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: %s, namespace: ns}\nspec:\n  parentRefs: [{name: gw}]\n%s\n---\n", name, body)
}

func build(t *testing.T, src string) *Table { t.Helper(); return buildWith(t, base, src) }

func buildWith(t *testing.T, base, src string) *Table {
	t.Helper()
	objs, err := manifest.Parse("t.yaml", []byte(base+src), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	cfg, fs := gateway.Compile(objs, gateway.Options{})
	if finding.HasErrors(fs, false) {
		t.Fatalf("findings: %v", fs)
	}
	hs := map[string]http.Handler{}
	for id, b := range cfg.Backends {
		name := b.Name
		_ = id
		hs[id] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend", name)
			w.Header().Set("X-Path", r.URL.Path)
			w.Header().Set("X-Escaped", r.URL.EscapedPath())
			w.Header().Set("X-Host", r.Host)
			for _, h := range []string{"X-Set", "X-Add", "X-Remove"} {
				w.Header()[h+"-Seen"] = r.Header.Values(h)
			}
			w.WriteHeader(200)
		})
	}
	tb, err := New(cfg, Options{Backends: hs})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

type req struct {
	method, host, target string
	headers              map[string]string
}

func do(tb *Table, rq req) *httptest.ResponseRecorder {
	if rq.method == "" {
		rq.method = "GET"
	}
	if rq.host == "" {
		rq.host = "example.com"
	}
	r := httptest.NewRequest(rq.method, "http://"+rq.host+rq.target, nil)
	for k, v := range rq.headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	tb.ServeHTTP(w, r)
	return w
}

const (
	toA = "    backendRefs: [{name: a, port: 80}]"
	toB = "    backendRefs: [{name: b, port: 80}]"
	toC = "    backendRefs: [{name: c, port: 80}]"
)

func TestRouting(t *testing.T) {
	rc := routertest.Load(t)
	for _, tc := range rc.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			tb := buildWith(t, rc.Base, tc.Routes)
			rq := req{method: tc.Request.Method, host: tc.Request.Host, target: tc.Request.Target, headers: tc.Request.Headers}
			for i := 0; i < 5; i++ { // weighted picks and ordering must be stable
				w := do(tb, rq)
				got := w.Header().Get("X-Backend")
				if got == "" {
					got = fmt.Sprint(w.Code)
				}
				if got != tc.Want {
					t.Fatalf("got %s, want %s (body %s)", got, tc.Want, w.Body.String())
				}
			}
		})
	}
}

func TestWeights(t *testing.T) {
	tb := build(t, route("r", `  rules:
  - backendRefs: [{name: a, port: 80, weight: 1}, {name: b, port: 80, weight: 3}]
`))
	n := map[string]int{}
	for i := 0; i < 4000; i++ {
		n[do(tb, req{target: "/"}).Header().Get("X-Backend")]++
	}
	if n["a"] < 800 || n["a"] > 1200 || n["b"] < 2800 || n["b"] > 3200 {
		t.Fatalf("distribution for weights 1:3 = %v", n)
	}
}

func TestFilters(t *testing.T) {
	tb := build(t, route("r", `  rules:
  - matches: [{path: {type: PathPrefix, value: /hdr}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-set, value: s}]
        add: [{name: x-add, value: two}]
        remove: [x-remove]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: x-backend, value: overwritten}]
        add: [{name: x-resp, value: r}]
        remove: [x-host]
    backendRefs:
    - name: a
      port: 80
      filters:
      - type: ResponseHeaderModifier
        responseHeaderModifier: {add: [{name: x-resp, value: backend}]}
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: URLRewrite
      urlRewrite: {hostname: new.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}
`+toA+`
  - matches: [{path: {type: PathPrefix, value: /full}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /replaced}}
`+toA+`
  - matches: [{path: {type: PathPrefix, value: /redirect}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, hostname: secure.example.com, statusCode: 301, path: {type: ReplacePrefixMatch, replacePrefixMatch: /moved}}
`))
	w := do(tb, req{target: "/hdr", headers: map[string]string{"X-Set": "client", "X-Add": "one", "X-Remove": "gone"}})
	h := w.Header()
	if got := h.Values("X-Set-Seen"); len(got) != 1 || got[0] != "s" {
		t.Errorf("set: %v", got)
	}
	if got := h.Values("X-Add-Seen"); len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Errorf("add: %v", got)
	}
	if got := h.Values("X-Remove-Seen"); len(got) != 0 {
		t.Errorf("remove: %v", got)
	}
	if h.Get("X-Backend") != "overwritten" || h.Get("X-Host") != "" || strings.Join(h.Values("X-Resp"), ",") != "r,backend" {
		t.Errorf("response headers: %v", h)
	}
	w = do(tb, req{target: "/old/x?q=1"})
	if w.Header().Get("X-Path") != "/new/x" || w.Header().Get("X-Host") != "new.example.com" {
		t.Errorf("rewrite: %v", w.Header())
	}
	w = do(tb, req{target: "/full/x"})
	if w.Header().Get("X-Path") != "/replaced" {
		t.Errorf("full rewrite: %v", w.Header())
	}
	// The kept part of the path keeps its escapes: %3B must not become a ';' parameter.
	w = do(tb, req{target: "/old/a%3Bb%20c"})
	if w.Header().Get("X-Path") != "/new/a;b c" || w.Header().Get("X-Escaped") != "/new/a%3Bb%20c" {
		t.Errorf("rewrite escapes: %v", w.Header())
	}
	w = do(tb, req{target: "/redirect/a%3Bb%20c"})
	if w.Header().Get("Location") != "https://secure.example.com/moved/a%3Bb%20c" {
		t.Errorf("redirect escapes: %v", w.Header())
	}
	w = do(tb, req{target: "/redirect/a?b=c"})
	if w.Code != 301 || w.Header().Get("Location") != "https://secure.example.com/moved/a?b=c" {
		t.Errorf("redirect: %d %v", w.Code, w.Header())
	}
}

func TestPolicyFailsClosedWithoutBuilder(t *testing.T) {
	tb := build(t, route("r", `  rules:
  -`+strings.TrimPrefix(toA, "   "))+`apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: limit, namespace: ns}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]
  traffic: {rateLimit: {local: [{requests: 1, unit: Seconds}]}}
`)
	w := do(tb, req{target: "/"})
	if w.Code != http.StatusNotImplemented || !strings.Contains(w.Body.String(), "ns/limit") {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}

func TestNotServedBackend(t *testing.T) {
	src := route("r", `  rules:
  - backendRefs: [{group: agentgateway.dev, kind: AgentgatewayBackend, name: ai}]
`) + `apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: ai, namespace: ns}
spec: {ai: {provider: {openai: {model: gpt-4o}}}}
`
	objs, _ := manifest.Parse("t.yaml", []byte(base+src), manifest.DefaultLimits)
	cfg, fs := gateway.Compile(objs, gateway.Options{})
	if finding.HasErrors(fs, false) {
		t.Fatal(fs)
	}
	tb, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := do(tb, req{target: "/v1/chat/completions"})
	if w.Code != 501 || !strings.Contains(w.Body.String(), "kind AI) is not served by this dataplane build") {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}
