package gateway

import "testing"

// The Outcome carries the Gateway API's reasons for each route parent and backend problem.
func TestOutcomeReasons(t *testing.T) {
	cases := []struct {
		name, src      string
		accepted       string // Accepted reason of the route's first parent
		resolved       string // ResolvedRefs reason
		attachedRoutes int32
	}{
		{"accepted", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  hostnames: [x.example.com]
  rules: [{backendRefs: [{name: svc, port: 8080}]}]
`, "Accepted", "ResolvedRefs", 1},
		{"missing backend", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: nope, port: 8080}]}]
`, "Accepted", "BackendNotFound", 1},
		{"other namespace without grant", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: other, namespace: b, port: 8080}]}]
`, "Accepted", "RefNotPermitted", 1},
		{"unknown kind", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: example.com, kind: Thing, name: t}]}]
`, "Accepted", "InvalidKind", 1},
		{"namespace not allowed", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: b}
spec:
  parentRefs: [{name: gw, namespace: a}]
`, "NotAllowedByListeners", "ResolvedRefs", 0},
		{"no such listener", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw, sectionName: nope}]
`, "NoMatchingParent", "ResolvedRefs", 0},
		{"hostname outside the listener's", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs: [{name: gw}]
  hostnames: [x.example.org]
`, "NoMatchingListenerHostname", "ResolvedRefs", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := Compile(parse(t, gw+tc.src), Options{})
			var ro *RouteOutcome
			for n, r := range cfg.Outcome.Routes {
				if n.Name == "r" {
					ro = r
				}
			}
			if ro == nil || len(ro.Parents) != 1 {
				t.Fatalf("route outcome = %+v", ro)
			}
			p := ro.Parents[0]
			if p.Accepted.Reason != tc.accepted || p.Accepted.OK != (tc.accepted == "Accepted") || p.Gateway.String() != "a/gw" {
				t.Errorf("parent = %+v, want Accepted reason %s", p, tc.accepted)
			}
			if ro.ResolvedRefs.Reason != tc.resolved || ro.ResolvedRefs.OK != (tc.resolved == "ResolvedRefs") {
				t.Errorf("ResolvedRefs = %+v, want %s", ro.ResolvedRefs, tc.resolved)
			}
			g := cfg.Outcome.Gateways[NamespacedName{Namespace: "a", Name: "gw"}]
			if g == nil || len(g.Listeners) != 1 || g.Listeners[0].AttachedRoutes != tc.attachedRoutes {
				t.Errorf("gateway outcome = %+v", g)
			}
		})
	}
}
