package bootstrap

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/server"
)

func TestEndToEndRouting(t *testing.T) {
	a, b := upstream(t, "a", nil), upstream(t, "b", nil)
	dir := t.TempDir()
	writeConfig(t, dir, gatewayYAML+httpRoute("api", `  hostnames: [api.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}, headers: [{name: X-Tenant, value: blue}]}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Tenant, value: rewritten}]}}
    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: X-Gateway, value: gwctl}]}}
    backendRefs: [{name: b, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: a, port: 80}]
  - matches: [{path: {type: RegularExpression, value: "/models/[0-9]+"}, method: GET, queryParams: [{name: full, value: "1"}]}]
    backendRefs: [{name: b, port: 80}]`))
	r := start(t, Settings{Config: []string{dir}, Resolve: map[string]string{"a.default": hostport(a), "b.default": hostport(b)}})

	cases := []struct {
		host, path string
		hdr        map[string]string
		status     int
		upstream   string
		check      func(*http.Response) string
	}{
		{"api.example.com", "/v1/chat", nil, 200, "a", nil},
		{"api.example.com", "/v1/chat", map[string]string{"X-Tenant": "blue"}, 200, "b", func(resp *http.Response) string {
			if resp.Header.Get("X-Seen-Tenant") != "rewritten" || resp.Header.Get("X-Gateway") != "gwctl" {
				return fmt.Sprintf("filters not applied: %v", resp.Header)
			}
			if resp.Header.Get("X-Seen-Host") != "api.example.com" || resp.Header.Get("X-Seen-Forwarded-For") != "127.0.0.1" || len(resp.Header.Get("X-Seen-Request-Id")) != 32 {
				return fmt.Sprintf("host/forwarded headers: %v", resp.Header)
			}
			return ""
		}},
		{"api.example.com", "/models/42?full=1", nil, 200, "b", nil},
		{"api.example.com", "/models/42?full=0", nil, 404, "", nil},
		{"api.example.com", "/v2", nil, 404, "", nil},
		{"other.example.com", "/v1", nil, 404, "", nil},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", r.url+tc.path, nil)
		req.Host = tc.host
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("X-Upstream") != tc.upstream {
			t.Errorf("%s%s %v: got %d from %q (%s), want %d from %q", tc.host, tc.path, tc.hdr, resp.StatusCode, resp.Header.Get("X-Upstream"), body, tc.status, tc.upstream)
		}
		if tc.status == 404 && !strings.Contains(string(body), `"type":"invalid_request_error"`) {
			t.Errorf("404 body: %s", body)
		}
		if tc.check != nil {
			if msg := tc.check(resp); msg != "" {
				t.Error(msg)
			}
		}
	}

	// Metrics by route, backend and status; one JSON access line per request without the query.
	_, metrics := get(t, nil, r.admin+"/metrics", nil)
	for _, want := range []string{
		`dataplane_requests_total{backend="Service/default/a:80",code="200",route="default/api/rule1"} 1`,
		`dataplane_requests_total{backend="",code="404",route=""} 3`,
		`dataplane_config_reloads_total{result="success"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if resp, cz := get(t, nil, r.debug+"/configz", nil); resp.StatusCode != 200 || !strings.Contains(cz, `"Name": "api"`) {
		t.Errorf("debug /configz: %d %.300s", resp.StatusCode, cz)
	}
	if resp, _ := get(t, nil, r.admin+"/configz", nil); resp.StatusCode != 404 {
		t.Errorf("admin /configz: %d, want 404: the admin address is reachable by the cluster", resp.StatusCode)
	}
	if resp, idx := get(t, nil, r.debug+"/debug/pprof/", nil); resp.StatusCode != 200 || !strings.Contains(idx, "goroutine") {
		t.Errorf("debug /debug/pprof/: %d %.300s", resp.StatusCode, idx)
	}
	if resp, _ := get(t, nil, r.admin+"/debug/pprof/", nil); resp.StatusCode != 404 {
		t.Errorf("admin /debug/pprof/: %d, want 404: only the loopback debug address profiles", resp.StatusCode)
	}
	// A response of declared length leaves before its access line: wait for the last line.
	for deadline := time.Now().Add(5 * time.Second); strings.Count(r.log.String(), `"msg":"request"`) < len(cases) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // polling for the line, bounded by the deadline
	}
	var lines int
	for _, line := range strings.Split(r.log.String(), "\n") {
		if !strings.Contains(line, `"msg":"request"`) {
			continue
		}
		lines++
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("access line is not JSON: %s", line)
		}
		if strings.Contains(line, "full=") {
			t.Errorf("access log leaks the query string: %s", line)
		}
		for _, k := range []string{"route", "backend", "status", "duration_ms", "bytes", "request_id"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("access line lacks %s: %s", k, line)
			}
		}
	}
	if lines != len(cases) {
		t.Errorf("access lines = %d, want %d", lines, len(cases))
	}
}

func TestEndToEndTimeouts(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := upstream(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	fast := upstream(t, "fast", nil)
	dir := t.TempDir()
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - matches: [{path: {type: Exact, value: /request}}]
    timeouts: {request: 100ms}
    backendRefs: [{name: slow, port: 80}]
  - matches: [{path: {type: Exact, value: /backend}}]
    timeouts: {request: 10s, backendRequest: 100ms}
    backendRefs: [{name: slow, port: 80}]
  - matches: [{path: {type: Exact, value: /fast}}]
    timeouts: {request: 5s, backendRequest: 2s}
    backendRefs: [{name: fast, port: 80}]`))
	r := start(t, Settings{Config: []string{dir}, Resolve: map[string]string{"slow.default": hostport(slow), "fast.default": hostport(fast)}})
	for _, path := range []string{"/request", "/backend"} {
		t0 := time.Now()
		resp, body := get(t, nil, r.url+path, nil)
		if resp.StatusCode != 504 || !strings.Contains(body, "timed out") {
			t.Errorf("%s: got %d %s", path, resp.StatusCode, body)
		}
		if d := time.Since(t0); d > 3*time.Second {
			t.Errorf("%s took %s", path, d)
		}
	}
	if resp, _ := get(t, nil, r.url+"/fast", nil); resp.StatusCode != 200 {
		t.Errorf("/fast: %d", resp.StatusCode)
	}
	_, metrics := get(t, nil, r.admin+"/metrics", nil)
	if !strings.Contains(metrics, `dataplane_upstream_errors_total{backend="Service/default/slow:80",cause="timeout"} 2`) {
		t.Errorf("upstream timeout metric missing:\n%s", grep(metrics, "upstream_errors"))
	}
}

func TestEndToEndReload(t *testing.T) {
	a, b := upstream(t, "a", nil), upstream(t, "b", nil)
	dir := t.TempDir()
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - backendRefs: [{name: a, port: 80}]`))
	r := start(t, Settings{Config: []string{dir}, Resolve: map[string]string{"a.default": hostport(a), "b.default": hostport(b)}})
	if resp, _ := get(t, nil, r.url+"/", nil); resp.Header.Get("X-Upstream") != "a" {
		t.Fatalf("initial: %v", resp.Header)
	}
	// Good change: swapped in.
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - backendRefs: [{name: b, port: 80}]`))
	waitFor(t, "reload to b", func() bool {
		resp, _ := get(t, nil, r.url+"/", nil)
		return resp.Header.Get("X-Upstream") == "b"
	})
	// Bad change (missing Service): the old config keeps serving, the failure is counted and logged.
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - backendRefs: [{name: missing, port: 80}]`))
	waitFor(t, "failed reload", func() bool {
		_, m := get(t, nil, r.admin+"/metrics", nil)
		return strings.Contains(m, `dataplane_config_reloads_total{result="failure"} 1`)
	})
	if resp, _ := get(t, nil, r.url+"/", nil); resp.Header.Get("X-Upstream") != "b" {
		t.Fatalf("after bad reload: %v", resp.Header)
	}
	if !strings.Contains(r.log.String(), "Service default/missing is not in the input") {
		t.Errorf("findings not logged:\n%s", r.log.String())
	}
	// Unparseable YAML is a failed reload too.
	writeConfig(t, dir, "kind: [\n")
	waitFor(t, "second failed reload", func() bool {
		_, m := get(t, nil, r.admin+"/metrics", nil)
		return strings.Contains(m, `dataplane_config_reloads_total{result="failure"} 2`)
	})
	if resp, _ := get(t, nil, r.url+"/", nil); resp.Header.Get("X-Upstream") != "b" {
		t.Fatalf("after unparseable reload: %v", resp.Header)
	}
}

func TestEndToEndConfigMapMount(t *testing.T) {
	a := upstream(t, "a", nil)
	// Kubernetes mounts a ConfigMap as <dir>/resources.yaml -> ..data/resources.yaml.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "..2026_01"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := gatewayYAML + httpRoute("r", `  rules:
  - backendRefs: [{name: a, port: 80}]`) + "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ignored}\n"
	if err := os.WriteFile(filepath.Join(dir, "..2026_01", "resources.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..2026_01", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "resources.yaml"), filepath.Join(dir, "resources.yaml")); err != nil {
		t.Fatal(err)
	}
	r := start(t, Settings{Config: []string{dir}, Resolve: map[string]string{"a.default": hostport(a)}})
	if resp, _ := get(t, nil, r.url+"/", nil); resp.Header.Get("X-Upstream") != "a" {
		t.Fatalf("got %v", resp.Header)
	}
}

func TestEndToEndStdin(t *testing.T) {
	a := upstream(t, "a", nil)
	src := gatewayYAML + httpRoute("r", `  rules:
  - backendRefs: [{name: a, port: 80}]`)
	r := start(t, Settings{Config: []string{"-"}, Stdin: strings.NewReader(src), Resolve: map[string]string{"a.default": hostport(a)}})
	if resp, _ := get(t, nil, r.url+"/", nil); resp.Header.Get("X-Upstream") != "a" {
		t.Fatalf("got %v", resp.Header)
	}
}

func TestEndToEndListenerPorts(t *testing.T) {
	a, b := upstream(t, "a", nil), upstream(t, "b", nil)
	dir := t.TempDir()
	writeConfig(t, dir, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners:
  - {name: public, port: 80, protocol: HTTP}
  - {name: internal, port: 8081, protocol: HTTP}
---
`+strings.Replace(httpRoute("public", `  rules:
  - backendRefs: [{name: a, port: 80}]`), "parentRefs: [{name: gw}]", "parentRefs: [{name: gw, sectionName: public}]", 1)+strings.Replace(httpRoute("admin", `  rules:
  - matches: [{path: {type: PathPrefix, value: /admin}}]
    backendRefs: [{name: b, port: 80}]`), "parentRefs: [{name: gw}]", "parentRefs: [{name: gw, sectionName: internal}]", 1))
	d := New(Settings{Config: []string{dir}, Resolve: map[string]string{"a.default": hostport(a), "b.default": hostport(b)}, WatchInterval: time.Hour}, nil)
	if _, err := d.Load(); err != nil {
		t.Fatal(err)
	}
	var bindings []server.Binding
	urls := map[int32]string{}
	for _, port := range []int32{0, 80, 8081} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		bindings = append(bindings, server.Binding{Listener: ln, Port: port})
		urls[port] = "http://" + ln.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.RunBindings(ctx, bindings, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	cases := []struct {
		port     int32
		path     string
		upstream string
		status   int
	}{
		{80, "/admin/x", "a", 200}, // the internal-only route is not reachable on the public port
		{8081, "/admin/x", "b", 200},
		{8081, "/other", "", 404}, // the public route is not attached to the internal listener
		{0, "/admin/x", "b", 200}, // the all-listeners binding sees both
	}
	for _, tc := range cases {
		resp, _ := get(t, nil, urls[tc.port]+tc.path, nil)
		if resp.StatusCode != tc.status || resp.Header.Get("X-Upstream") != tc.upstream {
			t.Errorf("port %d %s: got %d from %q, want %d from %q", tc.port, tc.path, resp.StatusCode, resp.Header.Get("X-Upstream"), tc.status, tc.upstream)
		}
	}
}

func TestEndToEndBackendSecret(t *testing.T) {
	up := upstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("Authorization"))
	})
	secrets := t.TempDir()
	if err := os.MkdirAll(filepath.Join(secrets, "upstream-key"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - matches: [{path: {type: PathPrefix, value: /keyed}}]
    backendRefs: [{name: a, port: 80}]
  - backendRefs: [{name: b, port: 80}]`)+`apiVersion: v1
kind: Service
metadata: {name: a, namespace: default}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: default}
spec: {ports: [{port: 80}]}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: auth, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: a}]
  backend: {auth: {secretRef: {name: upstream-key}}}
`)
	r := start(t, Settings{Config: []string{dir}, SecretsDir: secrets, Resolve: map[string]string{"a.default": hostport(up), "b.default": hostport(up)}})

	// Not mounted yet: only the route that needs it fails, naming the secret.
	resp, body := get(t, nil, r.url+"/keyed", map[string]string{"Authorization": "Bearer client"})
	if resp.StatusCode != 503 || !strings.Contains(body, `secret \"upstream-key\"`) {
		t.Fatalf("missing secret: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, nil, r.url+"/other", map[string]string{"Authorization": "Bearer client"}); resp.StatusCode != 200 || body != "Bearer client" {
		t.Fatalf("route without the secret: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(r.log.String(), "backend credential unavailable") {
		t.Error("no log line for the missing secret")
	}
	// Mounted: used at once, replacing the client's credential.
	if err := os.WriteFile(filepath.Join(secrets, "upstream-key", "Authorization"), []byte("sk-upstream-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, nil, r.url+"/keyed", map[string]string{"Authorization": "Bearer client"}); resp.StatusCode != 200 || body != "Bearer sk-upstream-secret" {
		t.Fatalf("mounted secret: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(r.log.String(), "sk-upstream-secret") {
		t.Fatal("the secret value reached the log")
	}
}
