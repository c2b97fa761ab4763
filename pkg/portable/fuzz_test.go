package portable_test

import (
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/portable"
	"github.com/infergw/gwctl/pkg/runbook"
)

// Any manifest set gwctl can read gets a report and, with a standby, a runbook: no panic on
// fields of unexpected types or shapes.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: n}\nspec: {rules: [{backendRefs: [{kind: X}], filters: [{type: ExtensionRef}]}]}\n"))
	f.Add([]byte("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g, labels: {gwctl.infergw.dev/standby-for: p}}\nspec: {listeners: 3}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, labels: {gwctl.infergw.dev/standby-for: q}}\nspec: {parentRefs: [{name: g}], rules: [{matches: [{headers: [{name: 1}]}]}]}\n"))
	f.Add([]byte("apiVersion: agentgateway.dev/v1alpha1\nkind: AgentgatewayPolicy\nmetadata: {name: p}\nspec: {targetRefs: [{kind: Gateway, name: g}], traffic: {rateLimit: {local: [{requests: x}]}, transformation: 5}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := manifest.Parse("fuzz.yaml", data, manifest.DefaultLimits)
		if err != nil {
			return
		}
		if _, err := portable.Check(objs); err != nil {
			t.Fatal(err)
		}
		_ = portable.HasStandby(objs)
		_, _ = runbook.Fallback(objs, runbook.Options{})
	})
}
