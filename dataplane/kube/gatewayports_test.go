package kube_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/kube"
	"github.com/infergw/gwctl/dataplane/server"
	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/gateway"
)

const perGateway = `
apiVersion: v1
kind: Namespace
metadata: {name: gwp}
---
apiVersion: v1
kind: Namespace
metadata: {name: certs}
---
apiVersion: v1
kind: Namespace
metadata: {name: private}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gwctl-ports}
spec: {controllerName: gwctl.infergw.dev/gwports}
---
apiVersion: v1
kind: Service
metadata: {name: dataplane, namespace: gwp}
spec:
  selector: {app: dataplane}
  ports: [{name: http, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gateways, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: gwp}]
  to: [{group: "", kind: Secret, name: tls-b}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: a, namespace: gwp}
spec:
  gatewayClassName: gwctl-ports
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: b, namespace: gwp}
spec:
  gatewayClassName: gwctl-ports
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: tls-b, namespace: certs}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: c, namespace: gwp}
spec:
  gatewayClassName: gwctl-ports
  listeners:
  - {name: missing, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: nope}]}}
  - {name: not-granted, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: other, namespace: certs}]}}
  - {name: private, port: 9443, protocol: HTTPS, tls: {certificateRefs: [{name: key, namespace: private}]}}
  - {name: plain, port: 443, protocol: HTTP, hostname: plain.example}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: gwp}
spec:
  parentRefs: [{name: a}]
  rules: [{filters: [{type: RequestRedirect, requestRedirect: {hostname: a.example}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: gwp}
spec:
  parentRefs: [{name: b}]
  rules: [{filters: [{type: RequestRedirect, requestRedirect: {hostname: b.example}}]}]
`

// Issue #19: each Gateway gets its own Service, address and ports, so two Gateways with
// listeners on one port keep their routes apart; listener certificates are read from the
// Gateways' (granted) namespaces and rotate; an unresolved certificateRef is the listener's
// ResolvedRefs=False with the spec's reason; a deleted Gateway's Service and port go.
func TestGatewayPortsAndCertificates(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ca := testenv.NewCA(t, "test-ca")
	first := ca.Issue(t, testenv.Leaf{Names: []string{"first.example"}})
	kubectl(t, c.s, ctx, perGateway, "apply", "--server-side", "-f", "-")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls-b", Namespace: "certs"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": first.CertPEM, "tls.key": first.KeyPEM}}
	if _, err := c.cs.CoreV1().Secrets("certs").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := secret.DeepCopy()
	other.Name = "other"
	if _, err := c.cs.CoreV1().Secrets("certs").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.CoreV1().Secrets("private").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "key", Namespace: "private"},
		Data: map[string][]byte{"tls.crt": first.CertPEM, "tls.key": first.KeyPEM}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dp := runDataplane(t, c, "gwp", func(o *kube.Options, d *bootstrap.Dataplane) {
		// A class of its own: the package's tests share one API server, and the other tests'
		// dataplanes must not serve these Gateways.
		o.Compile.ControllerName = "gwctl.infergw.dev/gwports"
		o.GatewayPorts = kube.PortRange{First: 24100, Last: 24199}
		o.Listen = func(port int32) (net.Listener, error) {
			return net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
		}
		o.Serve = func(ctx context.Context, ln net.Listener, port int32) error {
			return d.Server.ServeBinding(ctx, server.Binding{Listener: ln, Port: port})
		}
	})

	// target is the dataplane port a Gateway's Service sends its listener port to.
	target := func(gw string, port int32) (int32, string) {
		name := kube.GatewayServiceName(gateway.NamespacedName{Namespace: "gwp", Name: gw})
		svc, err := c.cs.CoreV1().Services("gwp").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return 0, err.Error()
		}
		if svc.Spec.Selector["app"] != "dataplane" {
			return 0, fmt.Sprintf("Service %s selects %v, want the dataplane's pods", name, svc.Spec.Selector)
		}
		for _, p := range svc.Spec.Ports {
			if p.Port == port {
				return p.TargetPort.IntVal, ""
			}
		}
		return 0, fmt.Sprintf("Service %s has no port %d: %v", name, port, svc.Spec.Ports)
	}
	redirectTo := func(port int32) string {
		cl := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, err := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/", nil)
		if err != nil {
			return err.Error()
		}
		req.Host = "gateway.test" // as a client of the Service's port 80 names it
		resp, err := cl.Do(req)
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}

	t.Run("a Service, an address and ports per Gateway", func(t *testing.T) {
		for _, gw := range []string{"a", "b"} {
			eventually(t, 15*time.Second, func() string {
				p, why := target(gw, 80)
				if why != "" {
					return why
				}
				if loc := redirectTo(p); loc != "http://"+gw+".example/" {
					return fmt.Sprintf("Gateway %s port 80 (dataplane port %d) redirects to %q", gw, p, loc)
				}
				u, err := c.dyn.Resource(gvrGateway).Namespace("gwp").Get(ctx, gw, metav1.GetOptions{})
				if err != nil {
					return err.Error()
				}
				svc, err := c.cs.CoreV1().Services("gwp").Get(ctx, kube.GatewayServiceName(gateway.NamespacedName{Namespace: "gwp", Name: gw}), metav1.GetOptions{})
				if err != nil {
					return err.Error()
				}
				addrs, _, _ := unstructured.NestedSlice(u.Object, "status", "addresses")
				if len(addrs) != 1 || addrs[0].(map[string]any)["value"] != svc.Spec.ClusterIP {
					return fmt.Sprintf("Gateway %s addresses %v, want its Service's %s", gw, addrs, svc.Spec.ClusterIP)
				}
				if s, r := condition(u, "Programmed", "status", "conditions"); s != "True" {
					return fmt.Sprintf("Gateway %s Programmed %s %s", gw, s, r)
				}
				return ""
			})
		}
	})

	t.Run("certificates from a granted namespace, rotated", func(t *testing.T) {
		servedName := func() string {
			p, why := target("b", 443)
			if why != "" {
				return why
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", "127.0.0.1:"+strconv.Itoa(int(p)),
				&tls.Config{ServerName: "b.example", InsecureSkipVerify: true}) // #nosec G402 -- the test reads the served certificate
			if err != nil {
				return err.Error()
			}
			defer conn.Close()
			return conn.ConnectionState().PeerCertificates[0].DNSNames[0]
		}
		eventually(t, 15*time.Second, func() string {
			if n := servedName(); n != "first.example" {
				return "Gateway b's HTTPS listener serves " + n
			}
			return ""
		})
		second := ca.Issue(t, testenv.Leaf{Names: []string{"second.example"}})
		s, err := c.cs.CoreV1().Secrets("certs").Get(ctx, "tls-b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Data = map[string][]byte{"tls.crt": second.CertPEM, "tls.key": second.KeyPEM}
		if _, err := c.cs.CoreV1().Secrets("certs").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, func() string {
			if n := servedName(); n != "second.example" {
				return "after the rotation, Gateway b's HTTPS listener serves " + n
			}
			return ""
		})
	})

	t.Run("unresolved certificateRefs", func(t *testing.T) {
		want := map[string]string{"missing": "InvalidCertificateRef", "not-granted": "RefNotPermitted", "private": "RefNotPermitted"}
		eventually(t, 15*time.Second, func() string {
			u, err := c.dyn.Resource(gvrGateway).Namespace("gwp").Get(ctx, "c", metav1.GetOptions{})
			if err != nil {
				return err.Error()
			}
			ls, _, _ := unstructured.NestedSlice(u.Object, "status", "listeners")
			if len(ls) != 4 {
				return fmt.Sprintf("Gateway c listeners status %v", ls)
			}
			for _, l := range ls {
				lu := &unstructured.Unstructured{Object: l.(map[string]any)}
				name := lu.Object["name"].(string)
				if name == "plain" { // HTTP on the port of an HTTPS listener: left out, the rest served
					if s, r := condition(lu, "Conflicted", "conditions"); s != "True" || r != "ProtocolConflict" {
						return fmt.Sprintf("listener plain Conflicted %s %s, want True ProtocolConflict", s, r)
					}
					if s, _ := condition(lu, "Programmed", "conditions"); s != "False" {
						return fmt.Sprintf("listener plain Programmed %s, want False", s)
					}
					continue
				}
				if s, r := condition(lu, "ResolvedRefs", "conditions"); s != "False" || r != want[name] {
					return fmt.Sprintf("listener %s ResolvedRefs %s %s, want False %s", name, s, r, want[name])
				}
				if s, _ := condition(lu, "Programmed", "conditions"); s != "False" {
					return fmt.Sprintf("listener %s Programmed %s, want False", name, s)
				}
			}
			return ""
		})
		// A namespace no ReferenceGrant opens is never read.
		if strings.Contains(dp.log.String(), `"namespace":"private"`) {
			t.Errorf("the dataplane watches the Secrets of a namespace that grants nothing:\n%s", dp.log)
		}
	})

	t.Run("a deleted Gateway's Service and port go", func(t *testing.T) {
		p, why := target("a", 80)
		if why != "" {
			t.Fatal(why)
		}
		if err := c.dyn.Resource(gvrGateway).Namespace("gwp").Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, func() string {
			_, err := c.cs.CoreV1().Services("gwp").Get(ctx, kube.GatewayServiceName(gateway.NamespacedName{Namespace: "gwp", Name: "a"}), metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return fmt.Sprintf("Gateway a's Service: %v", err)
			}
			if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(int(p)), time.Second); err == nil {
				conn.Close()
				return "Gateway a's port still open"
			}
			if loc := redirectTo(mustTarget(t, target, "b", 80)); loc != "http://b.example/" {
				return "Gateway b redirects to " + loc
			}
			return ""
		})
	})
}

func mustTarget(t *testing.T, target func(string, int32) (int32, string), gw string, port int32) int32 {
	t.Helper()
	p, why := target(gw, port)
	if why != "" {
		t.Fatal(why)
	}
	return p
}
