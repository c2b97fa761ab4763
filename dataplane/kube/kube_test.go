package kube_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/infergw/gwctl/dataplane/kube"
)

const resources = `
apiVersion: v1
kind: Namespace
metadata: {name: gw}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gwctl}
spec: {controllerName: gwctl.infergw.dev/dataplane}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: other}
spec: {controllerName: example.com/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: gw}
spec:
  gatewayClassName: gwctl
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: theirs, namespace: gw}
spec:
  gatewayClassName: other
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: dataplane, namespace: gw}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: gw}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: gw}
spec:
  parentRefs: [{name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /echo}}]
    backendRefs: [{name: echo, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: missing-backend, namespace: gw}
spec:
  parentRefs: [{name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /missing}}]
    backendRefs: [{name: nope, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: other-namespace, namespace: apps}
spec:
  parentRefs: [{name: web, namespace: gw}]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: on-theirs, namespace: gw}
spec:
  parentRefs: [{name: theirs}]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
`

// Issue #19, done when: resources applied with kubectl apply --server-side are served, kubectl
// shows Accepted/Programmed, broken routes show the spec's reasons, another controller's
// Gateway is left alone, and a Service without ready endpoints answers 503 saying so.
func TestKubernetesMode(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kubectl(t, c.s, ctx, resources, "apply", "--server-side", "-f", "-")
	port := echo(t, "echo")
	if _, err := c.cs.DiscoveryV1().EndpointSlices("gw").Create(ctx, endpointSlice("gw", "echo", "http", port, "10.244.0.1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	dp := runDataplane(t, c, "gw")

	t.Run("traffic follows the cluster", func(t *testing.T) {
		eventually(t, 10*time.Second, func() string {
			if code, body := httpGet(dp.url + "/echo/x"); code != 200 || body != "echo /echo/x" {
				return fmt.Sprintf("GET /echo/x = %d %q", code, body)
			}
			return ""
		})
		if code, _ := httpGet(dp.url + "/missing"); code != http.StatusInternalServerError {
			t.Errorf("route with a missing backend answered %d, want 500", code)
		}
	})

	// BENCHMARKS.md: from a route change in the API to traffic following it.
	t.Run("route change to traffic", func(t *testing.T) {
		const changes = 100
		var took []time.Duration
		for i := 0; i < changes; i++ {
			prefix := fmt.Sprintf("/v%d", i)
			patch := fmt.Sprintf(`{"spec":{"rules":[{"matches":[{"path":{"type":"PathPrefix","value":%q}}],"backendRefs":[{"name":"echo","port":80}]}]}}`, prefix)
			start := time.Now()
			if _, err := c.dyn.Resource(gvrRoute).Namespace("gw").Patch(ctx, "echo", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			for {
				if code, _ := httpGet(dp.url + prefix + "/x"); code == 200 {
					break
				}
				if time.Since(start) > 5*time.Second {
					t.Fatalf("change %d: traffic did not follow within 5s", i)
				}
				time.Sleep(time.Millisecond)
			}
			took = append(took, time.Since(start))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		p50, p99 := took[changes/2], took[changes*99/100]
		t.Logf("route change -> traffic over %d changes (debounce 20ms): p50 %s, p99 %s", changes, p50.Round(time.Millisecond), p99.Round(time.Millisecond))
		if p99 > 2*time.Second {
			t.Errorf("p99 %s", p99)
		}
		patch := `{"spec":{"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/echo"}}],"backendRefs":[{"name":"echo","port":80}]}]}}`
		if _, err := c.dyn.Resource(gvrRoute).Namespace("gw").Patch(ctx, "echo", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, func() string {
			if code, _ := httpGet(dp.url + "/echo/x"); code != 200 {
				return "route not restored"
			}
			return ""
		})
	})

	t.Run("status", func(t *testing.T) {
		eventually(t, 15*time.Second, func() string {
			gc := get(t, c, gvrClass, "", "gwctl")
			if s, r := condition(gc, "Accepted", "status", "conditions"); s != "True" {
				return "GatewayClass Accepted " + s + " " + r
			}
			if s, r := condition(gc, "SupportedVersion", "status", "conditions"); s != "True" {
				return "GatewayClass SupportedVersion " + s + " " + r
			}
			g := get(t, c, gvrGateway, "gw", "web")
			for _, typ := range []string{"Accepted", "Programmed"} {
				if s, r := condition(g, typ, "status", "conditions"); s != "True" {
					return "Gateway " + typ + " " + s + " " + r
				}
			}
			if addrs, _, _ := unstructured.NestedSlice(g.Object, "status", "addresses"); len(addrs) == 0 {
				return "Gateway has no status.addresses"
			}
			ls, _, _ := unstructured.NestedSlice(g.Object, "status", "listeners")
			if len(ls) != 1 || ls[0].(map[string]any)["attachedRoutes"] != int64(2) {
				return fmt.Sprintf("listeners %v, want attachedRoutes 2 (echo and missing-backend)", ls)
			}
			for _, want := range []struct{ ns, name, typ, status, reason string }{
				{"gw", "echo", "Accepted", "True", "Accepted"},
				{"gw", "echo", "ResolvedRefs", "True", "ResolvedRefs"},
				{"gw", "missing-backend", "Accepted", "True", "Accepted"},
				{"gw", "missing-backend", "ResolvedRefs", "False", "BackendNotFound"},
				{"apps", "other-namespace", "Accepted", "False", "NotAllowedByListeners"},
			} {
				r := get(t, c, gvrRoute, want.ns, want.name)
				if s, reason := routeParent(r, want.typ); s != want.status || reason != want.reason {
					return fmt.Sprintf("HTTPRoute %s/%s %s = %s %s, want %s %s", want.ns, want.name, want.typ, s, reason, want.status, want.reason)
				}
			}
			return ""
		})
		// Another controller's Gateway and its route are left alone.
		if st, ok := get(t, c, gvrGateway, "gw", "theirs").Object["status"].(map[string]any); ok {
			if conds, _ := st["conditions"].([]any); len(conds) > 0 {
				for _, cd := range conds {
					if m := cd.(map[string]any); m["reason"] != "Pending" {
						t.Errorf("another controller's Gateway got status %v", st)
					}
				}
			}
		}
		if s, _ := routeParent(get(t, c, gvrRoute, "gw", "on-theirs"), "Accepted"); s != "" {
			t.Errorf("a route on another controller's Gateway got our status")
		}
		out := kubectl(t, c.s, ctx, "", "get", "gatewayclass,gateway,httproute", "-A")
		t.Logf("kubectl get gatewayclass,gateway,httproute -A:\n%s", out)
		if !strings.Contains(out, "gwctl.infergw.dev/dataplane   True") {
			t.Errorf("kubectl get does not show the GatewayClass accepted:\n%s", out)
		}
	})

	t.Run("a set that does not compile keeps the last good one", func(t *testing.T) {
		bad := `
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: broken, namespace: gw}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: web}]
  traffic:
    transformation:
      request:
        set: [{name: X-Broken, value: 'string(request.'}]
`
		kubectl(t, c.s, ctx, bad, "apply", "--server-side", "-f", "-")
		eventually(t, 10*time.Second, func() string {
			g := get(t, c, gvrGateway, "gw", "web")
			if s, r := condition(g, "Programmed", "status", "conditions"); s != "False" || r != "Invalid" {
				return "Gateway Programmed " + s + " " + r
			}
			return ""
		})
		if code, body := httpGet(dp.url + "/echo/x"); code != 200 {
			t.Errorf("the last good config stopped serving: %d %q", code, body)
		}
		g := get(t, c, gvrGateway, "gw", "web")
		conds, _, _ := unstructured.NestedSlice(g.Object, "status", "conditions")
		if !strings.Contains(fmt.Sprint(conds), "AgentgatewayPolicy/gw/broken") {
			t.Errorf("the Gateway's Programmed condition does not name the broken policy: %v", conds)
		}
		if !strings.Contains(metrics(t, dp), `result="failure"`) {
			t.Errorf("no reload failure in the metrics")
		}
		kubectl(t, c.s, ctx, "", "delete", "agentgatewaypolicy", "-n", "gw", "broken")
		eventually(t, 10*time.Second, func() string {
			if s, r := condition(get(t, c, gvrGateway, "gw", "web"), "Programmed", "status", "conditions"); s != "True" {
				return "Gateway Programmed " + s + " " + r
			}
			return ""
		})
	})

	t.Run("service scaled to zero answers 503", func(t *testing.T) {
		es, err := c.cs.DiscoveryV1().EndpointSlices("gw").Get(ctx, "echo-slice", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		es.Endpoints = nil
		if _, err := c.cs.DiscoveryV1().EndpointSlices("gw").Update(ctx, es, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 2*time.Second, func() string {
			code, body := httpGet(dp.url + "/echo/x")
			if code != http.StatusServiceUnavailable || !strings.Contains(body, "no ready endpoints for Service gw/echo port 80") {
				return fmt.Sprintf("GET /echo/x = %d %q", code, body)
			}
			return ""
		})
	})

	t.Run("status writes under churn", func(t *testing.T) {
		// Let the status settle, then change one route 1,000 times.
		eventually(t, 10*time.Second, func() string {
			r := get(t, c, gvrRoute, "gw", "missing-backend")
			if g, _ := routeObserved(r); g != r.GetGeneration() {
				return "route status not settled"
			}
			return ""
		})
		before := dp.ctl.StatusWrites()
		gwRV := get(t, c, gvrGateway, "gw", "web").GetResourceVersion()
		const updates = 1000
		start := time.Now()
		for i := 0; i < updates; i++ {
			patch := fmt.Sprintf(`{"spec":{"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/missing"}}],`+
				`"backendRefs":[{"name":"nope","port":80}],"timeouts":{"request":"%ds"}}]}}`, i+1)
			if _, err := c.dyn.Resource(gvrRoute).Namespace("gw").Patch(ctx, "missing-backend", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		elapsed := time.Since(start)
		final := get(t, c, gvrRoute, "gw", "missing-backend").GetGeneration()
		eventually(t, 10*time.Second, func() string {
			if g, _ := routeObserved(get(t, c, gvrRoute, "gw", "missing-backend")); g != final {
				return fmt.Sprintf("observedGeneration %d, want %d", g, final)
			}
			return ""
		})
		writes := dp.ctl.StatusWrites() - before
		t.Logf("%d route updates in %s: %d status writes, %d compiles", updates, elapsed.Round(time.Millisecond), writes, dp.ctl.Compiles())
		if writes > updates {
			t.Errorf("%d status writes for %d changes of one route", writes, updates)
		}
		if rv := get(t, c, gvrGateway, "gw", "web").GetResourceVersion(); rv != gwRV {
			t.Errorf("the Gateway's status was rewritten although nothing about it changed")
		}
	})

	t.Run("pool endpoints follow pods", func(t *testing.T) {
		src := kube.PoolSource{E: dp.ctl.Endpoints, Namespace: "gw", Selector: map[string]string{"app": "vllm"}}
		for i, ip := range []string{"10.244.1.11", "10.244.1.12"} {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("vllm-%d", i), Namespace: "gw", Labels: map[string]string{"app": "vllm"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "vllm", Image: "vllm"}}}}
			p, err := c.cs.CoreV1().Pods("gw").Create(ctx, p, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
			if _, err := c.cs.CoreV1().Pods("gw").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, 5*time.Second, func() string {
			eps, _ := src.Endpoints(ctx, []int{8000})
			if strings.Join(eps, ",") != "10.244.1.11:8000,10.244.1.12:8000" {
				return fmt.Sprintf("endpoints %v", eps)
			}
			return ""
		})
		grace := int64(0)
		deleted := time.Now()
		if err := c.cs.CoreV1().Pods("gw").Delete(ctx, "vllm-0", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, func() string {
			eps, _ := src.Endpoints(ctx, []int{8000})
			if strings.Join(eps, ",") != "10.244.1.12:8000" {
				return fmt.Sprintf("endpoints %v after deleting vllm-0", eps)
			}
			return ""
		})
		t.Logf("pod deletion left the pool's endpoints after %s", time.Since(deleted).Round(time.Millisecond))
	})
}

// routeObserved is the observedGeneration of the route's Accepted condition on our parent.
func routeObserved(u *unstructured.Unstructured) (int64, bool) {
	parents, _, _ := unstructured.NestedSlice(u.Object, "status", "parents")
	for _, p := range parents {
		m, _ := p.(map[string]any)
		conds, _ := m["conditions"].([]any)
		for _, cd := range conds {
			cm, _ := cd.(map[string]any)
			if cm["type"] == "Accepted" {
				g, _ := cm["observedGeneration"].(int64)
				return g, true
			}
		}
	}
	return 0, false
}
