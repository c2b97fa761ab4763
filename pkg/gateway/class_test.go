package gateway

import (
	"testing"
)

const classes = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ours}
spec: {controllerName: gwctl.infergw.dev/dataplane}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: theirs}
spec: {controllerName: example.com/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: mine, namespace: a}
spec:
  gatewayClassName: ours
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other, namespace: a}
spec:
  gatewayClassName: theirs
  listeners: [{name: http, port: 81, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: classless, namespace: a}
spec:
  gatewayClassName: missing
  listeners: [{name: http, port: 82, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: a}
spec: {ports: [{port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: both, namespace: a}
spec:
  parentRefs: [{name: mine}, {name: other}]
  rules: [{backendRefs: [{name: svc, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: foreign-only, namespace: a}
spec:
  parentRefs: [{name: other}]
  rules: [{backendRefs: [{name: nope, port: 8080}]}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: other}]
  traffic: {phase: PreRouting}
`

// The dataplane serves the Gateways of its own GatewayClass and leaves another controller's
// alone: no listener, no route attachment, no finding about what hangs off them.
func TestControllerName(t *testing.T) {
	cases := []struct {
		name      string
		opts      Options
		listeners []string
		routes    []string
	}{
		{"no controller name serves all", Options{}, []string{"a/mine/http", "a/other/http", "a/classless/http"},
			[]string{"a/both", "a/foreign-only"}},
		{"file mode: a missing class is ours", Options{ControllerName: DefaultControllerName},
			[]string{"a/mine/http", "a/classless/http"}, []string{"a/both"}},
		{"kubernetes mode: a missing class is not ours", Options{ControllerName: DefaultControllerName, RequireClass: true},
			[]string{"a/mine/http"}, []string{"a/both"}},
		{"another controller name", Options{ControllerName: "example.com/other"},
			[]string{"a/other/http", "a/classless/http"}, []string{"a/both", "a/foreign-only"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, fs := Compile(parse(t, classes), tc.opts)
			var ls, rs []string
			for _, l := range cfg.Listeners {
				ls = append(ls, l.ID())
			}
			for _, r := range cfg.Routes {
				rs = append(rs, r.ID())
				for _, a := range r.Attachments {
					if a.Listener.Gateway.Name == "other" && tc.opts.ControllerName == DefaultControllerName {
						t.Errorf("route %s attached to another controller's Gateway", r.ID())
					}
				}
			}
			if !equal(ls, tc.listeners) || !equal(rs, tc.routes) {
				t.Errorf("listeners = %v, routes = %v; want %v, %v", ls, rs, tc.listeners, tc.routes)
			}
			if tc.opts.ControllerName == DefaultControllerName {
				for _, f := range fs {
					t.Errorf("finding about another controller's resources: %s", f)
				}
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
