package refs

import (
	"testing"

	"github.com/infergw/gwctl/pkg/validate/objects"
)

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
			for _, f := range checkModelHeader(objects.New(parse(t, tc.doc), nil)) {
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
