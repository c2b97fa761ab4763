package portable_test

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/portable"
	"github.com/infergw/gwctl/pkg/render"
)

func check(t *testing.T, objs []*manifest.Object) *portable.Report {
	t.Helper()
	r, err := portable.Check(objs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func reportText(t *testing.T, r *portable.Report) []byte {
	t.Helper()
	var b strings.Builder
	for _, f := range r.Findings() {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	j, err := json.MarshalIndent(map[string]any{"primary": r.Primary, "standby": r.Standby, "routes": r.Routes, "lost": r.Lost()}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b.Write(j)
	b.WriteByte('\n')
	return []byte(b.String())
}

func TestReportGolden(t *testing.T) {
	for name, enable := range map[string][]string{
		"report-all.txt":        {"fallback", "egress", "mcp"},
		"report-no-standby.txt": {"egress", "mcp"},
	} {
		t.Run(name, func(t *testing.T) {
			golden(t, name, reportText(t, check(t, parsed(t, renderBundled(t, enable, storeSet).Objects))))
		})
	}
}

func TestHasStandby(t *testing.T) {
	for _, tc := range []struct {
		enable []string
		want   bool
	}{
		{nil, false},
		{[]string{"egress"}, false},
		{[]string{"fallback"}, true},
		{[]string{"fallback", "egress", "mcp"}, true},
	} {
		if got := portable.HasStandby(parsed(t, renderBundled(t, tc.enable, storeSet).Objects)); got != tc.want {
			t.Errorf("HasStandby(%v) = %v", tc.enable, got)
		}
	}
}

// The standby uses standard-channel fields and kinds only, whichever groups are on, and every
// primary route it carries over maps to a standby route.
func TestStandbyIsPortable(t *testing.T) {
	for _, enable := range [][]string{{"fallback"}, {"fallback", "egress"}, {"fallback", "mcp"}, {"fallback", "egress", "mcp"}} {
		res := renderBundled(t, enable, storeSet)
		objs := parsed(t, res.Objects)
		r := check(t, objs)
		for _, f := range r.Findings() {
			if strings.Contains(f.Resource.Name, "standby") || f.Resource.Name == "envoy-gateway" {
				t.Errorf("%v: standby object not portable: %s", enable, f)
			}
		}
		for _, o := range parsed(t, res.Select(render.Filter{Groups: []string{"fallback"}})) {
			if g := o.Group(); g != "" && g != "apps" && g != "gateway.networking.k8s.io" {
				t.Errorf("%v: standby renders %s %s", enable, o.APIVersion, o.Kind)
			}
		}
		if len(r.Standby) != 1 || r.Standby[0].Controller != "gateway.envoyproxy.io/gatewayclass-controller" || r.Standby[0].Name != "inference-gateway-standby" {
			t.Errorf("%v: standby gateways %+v", enable, r.Standby)
		}
	}
}

// With standby.mcp.unauthenticated the standby serves /mcp too, still with standard fields only.
func TestStandbyMCPOptIn(t *testing.T) {
	mfs := fstest.MapFS{}
	err := fs.WalkDir(groups.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(groups.FS, p)
		if p == "fallback/charts/fallback/values.yaml" {
			b = []byte(strings.Replace(string(b), "unauthenticated: false", "unauthenticated: true", 1))
		}
		mfs[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load(mfs, "test")
	if err != nil {
		t.Fatal(err)
	}
	objs := parsed(t, renderCatalog(t, cat, []string{"fallback", "mcp"}).Objects)
	r := check(t, objs)
	var mcp *portable.Route
	for i := range r.Routes {
		if r.Routes[i].Name == "mcp" {
			mcp = &r.Routes[i]
		}
	}
	if mcp == nil || mcp.Standby != "mcp-standby" || len(mcp.Probes) != 1 || mcp.Probes[0].Path != "/mcp" {
		t.Fatalf("mcp route %+v", mcp)
	}
	if !strings.Contains(strings.Join(mcp.Lost, "\n"), "JWT authentication") {
		t.Fatalf("lost controls %v", mcp.Lost)
	}
	for _, f := range r.Findings() {
		if strings.Contains(f.Resource.Name, "standby") {
			t.Errorf("standby object not portable: %s", f)
		}
	}
}

func TestRules(t *testing.T) {
	const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches:
    - headers: [{type: RegularExpression, name: x-a, value: "a.*"}]
    filters:
    - type: ExtensionRef
      extensionRef: {group: example.com, kind: Lua, name: script}
    backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool}
    retry: {attempts: 2}
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: x, namespace: ns}
spec: {}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: sp, namespace: ns}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]
`
	objs, err := manifest.Parse("in.yaml", []byte(route), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	r := check(t, objs)
	got := map[string]finding.Finding{}
	for _, f := range r.Findings() {
		got[f.Rule+" "+f.Field] = f
	}
	for key, line := range map[string]int{
		"portable.regex spec.rules[0].matches[0].headers[0].type": 8,
		"portable.filter spec.rules[0].filters[0]":                10,
		"portable.backendref spec.rules[0].backendRefs[0]":        13,
		"portable.experimental spec.rules[0].retry":               14,
		"portable.experimental ":                                  16,
		"portable.crd ":                                           21,
		"portable.standby ":                                       1,
	} {
		f, ok := got[key]
		if !ok {
			t.Errorf("no finding %q in %v", key, r.Findings())
			continue
		}
		if f.Line != line {
			t.Errorf("%s at line %d, want %d", key, f.Line, line)
		}
	}
	if f := got["portable.regex spec.rules[0].matches[0].headers[0].type"]; f.Severity != finding.Info {
		t.Errorf("regex severity %v", f.Severity)
	}
	if f := got["portable.backendref spec.rules[0].backendRefs[0]"]; f.Severity != finding.Warning || !strings.Contains(f.Message, "not served on the standby") {
		t.Errorf("backendref finding %s", f)
	}
	if len(got) != 7 {
		t.Errorf("findings %v", r.Findings())
	}
}
