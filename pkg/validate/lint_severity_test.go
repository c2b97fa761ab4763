package validate

import (
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

// A bucket larger than requests breaks a promise like "429 above 10 requests": it is a warning.
func TestBucketSeverity(t *testing.T) {
	cases := []struct {
		local string
		sev   finding.Severity
		msg   string
	}{
		{"{requests: 10, unit: Minutes}", finding.Info,
			"bucket 10 requests, +10/min (requests 10 + burst 0): starts full, shared by every client of the target, one bucket per proxy replica"},
		{"{requests: 10, unit: Minutes, burst: 5}", finding.Warning,
			"bucket 15 requests, +10/min (requests 10 + burst 5): starts full, shared by every client of the target, one bucket per proxy replica: a burst of up to 15 passes before the first 429, not 10"},
	}
	for _, tc := range cases {
		doc := `apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  traffic:
    rateLimit:
      local: [` + tc.local + `]
`
		var got []finding.Finding
		for _, f := range lints(newObjectSet(parse(t, doc), nil), true) {
			if f.Rule == RuleBucket {
				got = append(got, f)
			}
		}
		if len(got) != 1 || got[0].Severity != tc.sev || got[0].Message != tc.msg {
			t.Errorf("%s: got %v, want one %s %q", tc.local, got, tc.sev, tc.msg)
		}
	}
}

// Weighted backendRefs in one rule are one routing decision; two rules with different backends
// for the same model conflict.
func TestModelHeaderCanary(t *testing.T) {
	route := func(name, backends string) string {
		return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ` + name + `, namespace: apps}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{headers: [{name: X-Gateway-Base-Model-Name, value: llama}]}]
    backendRefs: ` + backends + `
`
	}
	canary := "[{name: stable, port: 80, weight: 90}, {name: canary, port: 80, weight: 10}]"
	cases := []struct {
		name, doc string
		want      []string // messages
	}{
		{"canary in one rule", route("r", canary), nil},
		{"same canary in two routes", route("r", canary) + "---\n" + route("s", canary), nil},
		{"two routes, different backends", route("r", canary) + "---\n" + route("s", "[{name: other, port: 80}]"), []string{
			`model "llama" on Gateway apps/gw is matched by rules routing to 2 different backend sets ([Service apps/canary, Service apps/stable] vs [Service apps/other]): each X-Gateway-Base-Model-Name value needs exactly one rule`,
			`model "llama" on Gateway apps/gw is matched by rules routing to 2 different backend sets ([Service apps/canary, Service apps/stable] vs [Service apps/other]): each X-Gateway-Base-Model-Name value needs exactly one rule`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range checkModelHeader(newObjectSet(parse(t, tc.doc), nil)) {
				got = append(got, f.Message)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %q\nwant %q", got[i], tc.want[i])
				}
			}
		})
	}
}
