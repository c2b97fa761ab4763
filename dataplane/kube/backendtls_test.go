package kube_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/kube"
	"github.com/infergw/gwctl/internal/testenv"
)

var gvrBackendTLS = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "backendtlspolicies"}

const backendTLSResources = `
apiVersion: v1
kind: Namespace
metadata: {name: btls}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: btls}
spec: {controllerName: gwctl.infergw.dev/btls}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: btls}
spec:
  gatewayClassName: btls
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: dataplane, namespace: btls}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: btls}
spec:
  selector: {app: backend}
  ports: [{name: https, port: 443, targetPort: 8443}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: backend, namespace: btls}
spec:
  parentRefs: [{name: web}]
  rules: [{backendRefs: [{name: backend, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: mtls, namespace: btls}
spec:
  gatewayClassName: btls
  listeners: [{name: http, port: 8080, protocol: HTTP}]
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{group: "", kind: ConfigMap, name: client-ca}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: backend, namespace: btls}
spec:
  targetRefs: [{group: "", kind: Service, name: backend}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}]
    hostname: backend.example
`

// Issue #20: in Kubernetes mode a BackendTLSPolicy and its CA ConfigMap, as the API server
// holds them, decide how the dataplane calls a Service: over TLS verified by that CA; a
// ConfigMap changed to another CA makes requests fail 502 (never plaintext), and restoring it
// serves again; a policy whose ConfigMap is missing, or holds no PEM certificate, fails its
// Service's requests (502) without stopping the rest. The policy's status names the Gateway with Accepted and ResolvedRefs.
func TestBackendTLSPolicy(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kubectl(t, c.s, ctx, "", "apply", "--server-side", "-f",
		filepath.Join(testenv.RepoRoot(t), "schemas/gateway-api/v1.6.3/gateway.networking.k8s.io_backendtlspolicies.yaml"))
	kubectl(t, c.s, ctx, "", "wait", "--for=condition=Established", "--timeout=60s", "crd/backendtlspolicies.gateway.networking.k8s.io")

	ca, otherCA := testenv.NewCA(t, "backend-ca"), testenv.NewCA(t, "other-ca")
	leaf := ca.Issue(t, testenv.Leaf{Names: []string{"backend.example"}})
	// A TLS-only server: a plaintext request would get its 400, not the 502 the test wants.
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls %s", r.TLS.ServerName)
	}))
	backend.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12}
	backend.StartTLS()
	t.Cleanup(backend.Close)
	_, portStr, _ := net.SplitHostPort(backend.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)

	kubectl(t, c.s, ctx, backendTLSResources, "apply", "--server-side", "-f", "-")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "backend-ca", Namespace: "btls"}, Data: map[string]string{"ca.crt": string(ca.PEM)}}
	if _, err := c.cs.CoreV1().ConfigMaps("btls").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.CoreV1().ConfigMaps("btls").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "client-ca", Namespace: "btls"},
		Data: map[string]string{"ca.crt": string(otherCA.PEM)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A ConfigMap no policy names: never compiled, so its broken ca.crt changes nothing.
	if _, err := c.cs.CoreV1().ConfigMaps("btls").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "unnamed", Namespace: "btls"},
		Data: map[string]string{"ca.crt": "not a certificate"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.DiscoveryV1().EndpointSlices("btls").Create(ctx, endpointSlice("btls", "backend", "https", int32(port), "10.244.0.20"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dp := runDataplane(t, c, "btls", func(o *kube.Options, _ *bootstrap.Dataplane) {
		o.Compile.ControllerName = "gwctl.infergw.dev/btls" // the package's tests share one API server
	})

	serves := func(wantCode int, wantBody string) func() string {
		return func() string {
			if code, body := httpGet(dp.url + "/x"); code != wantCode || (wantBody != "" && body != wantBody) {
				return fmt.Sprintf("GET /x = %d %q, want %d %q", code, body, wantCode, wantBody)
			}
			return ""
		}
	}
	setCA := func(pem []byte) {
		t.Helper()
		cm, err := c.cs.CoreV1().ConfigMaps("btls").Get(ctx, "backend-ca", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["ca.crt"] = string(pem)
		if _, err := c.cs.CoreV1().ConfigMaps("btls").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("TLS verified by the ConfigMap's CA", func(t *testing.T) {
		eventually(t, 15*time.Second, serves(200, "tls backend.example"))
	})
	t.Run("status: Accepted and ResolvedRefs on the Gateway", func(t *testing.T) {
		eventually(t, 15*time.Second, func() string {
			return ancestorConds(get(t, c, gvrBackendTLS, "btls", "backend"), "True Accepted", "True ResolvedRefs")
		})
	})
	t.Run("a Gateway's spec.tls.frontend CA ConfigMap is read", func(t *testing.T) {
		// Without it the set would not compile (the Gateway names a CA the dataplane lacks).
		eventually(t, 15*time.Second, func() string {
			if s, r := condition(get(t, c, gvrGateway, "btls", "mtls"), "Programmed", "status", "conditions"); s != "True" {
				return "Gateway mtls Programmed " + s + " " + r
			}
			return ""
		})
	})
	t.Run("another CA: 502, never plaintext", func(t *testing.T) {
		setCA(otherCA.PEM)
		eventually(t, 15*time.Second, serves(http.StatusBadGateway, ""))
		for i := 0; i < 5; i++ {
			if why := serves(http.StatusBadGateway, "")(); why != "" {
				t.Fatal(why)
			}
		}
	})
	t.Run("restored", func(t *testing.T) {
		setCA(ca.PEM)
		eventually(t, 15*time.Second, serves(200, "tls backend.example"))
	})
	// caFails points the policy at ConfigMap name, which cannot verify: its Service then answers
	// 502 and the policy's status gives the spec's reasons.
	caFails := func(t *testing.T, name string) {
		p := get(t, c, gvrBackendTLS, "btls", "backend")
		refs := []any{map[string]any{"group": "", "kind": "ConfigMap", "name": name}}
		if err := unstructured.SetNestedSlice(p.Object, refs, "spec", "validation", "caCertificateRefs"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.dyn.Resource(gvrBackendTLS).Namespace("btls").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, func() string {
			return ancestorConds(get(t, c, gvrBackendTLS, "btls", "backend"), "False NoValidCACertificate", "False InvalidCACertificateRef")
		})
		eventually(t, 15*time.Second, serves(http.StatusBadGateway, ""))
	}
	t.Run("a missing ConfigMap: 502 and the spec's reasons", func(t *testing.T) { caFails(t, "nope") })
	t.Run("a ConfigMap with no PEM certificate: 502, not the whole set refused", func(t *testing.T) {
		// The finding lands on the ConfigMap (its ca.crt), not the policy: it must degrade the
		// policy's backend like a missing ConfigMap, not keep the last good config.
		caFails(t, "unnamed")
	})
	t.Run("the rest is served", func(t *testing.T) {
		// The broken policy does not stop the set (other Gateways, other tests' dataplanes on
		// this API server): a route added now is served.
		kubectl(t, c.s, ctx, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: added, namespace: btls}
spec:
  parentRefs: [{name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /added}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: added.example}}]
`, "apply", "--server-side", "-f", "-")
		eventually(t, 15*time.Second, func() string {
			cl := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := cl.Get(dp.url + "/added")
			if err != nil {
				return err.Error()
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				return fmt.Sprintf("GET /added = %d, want the new route's 302", resp.StatusCode)
			}
			return ""
		})
	})
}

// ancestorConds checks a BackendTLSPolicy's one ancestor of ours: Gateway btls/web with
// Accepted and ResolvedRefs as "status reason".
func ancestorConds(u *unstructured.Unstructured, accepted, resolved string) string {
	anc, _, _ := unstructured.NestedSlice(u.Object, "status", "ancestors")
	if len(anc) != 1 {
		return fmt.Sprintf("ancestors %v, want one", anc)
	}
	m := anc[0].(map[string]any)
	ref, _ := m["ancestorRef"].(map[string]any)
	if m["controllerName"] != "gwctl.infergw.dev/btls" || ref["kind"] != "Gateway" || ref["namespace"] != "btls" || ref["name"] != "web" {
		return fmt.Sprintf("ancestor %v", m)
	}
	au := &unstructured.Unstructured{Object: m}
	for typ, want := range map[string]string{"Accepted": accepted, "ResolvedRefs": resolved} {
		if s, r := condition(au, typ, "conditions"); s+" "+r != want {
			return fmt.Sprintf("%s %s %s, want %s", typ, s, r, want)
		}
	}
	return ""
}
