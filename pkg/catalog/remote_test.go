package catalog

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/infergw/gwctl/pkg/charts"
)

func TestRemoteCharts(t *testing.T) {
	const head = "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: a}\nspec:\n  layer: x\n  namespace: apps\n  content:\n    charts:\n"
	load := func(charts string) (*Catalog, error) {
		return Load(fstest.MapFS{"a/group.yaml": {Data: []byte(head + charts)}}, "/cat")
	}
	cat, err := load(`    - {repo: https://charts.example.com/stable/, chart: podinfo, version: 6.5.0}
    - {chart: oci://ghcr.io/org/charts/podinfo, version: v6.5.0, releaseName: second, namespace: other}
    - {repo: oci://ghcr.io/org/charts, chart: podinfo, version: 6.5.0}
`)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cat.Group("a")
	want := []Chart{
		{Remote: &charts.Ref{Repo: "https://charts.example.com/stable", Chart: "podinfo", Version: "6.5.0"}, ReleaseName: "podinfo", Namespace: "apps"},
		{Remote: &charts.Ref{Repo: "oci://ghcr.io/org/charts", Chart: "podinfo", Version: "v6.5.0"}, ReleaseName: "second", Namespace: "other"},
		{Remote: &charts.Ref{Repo: "oci://ghcr.io/org/charts", Chart: "podinfo", Version: "6.5.0"}, ReleaseName: "podinfo", Namespace: "apps"},
	}
	for i, w := range want {
		c := g.Charts[i]
		if c.Path != "" || *c.Remote != *w.Remote || c.ReleaseName != w.ReleaseName || c.Namespace != w.Namespace {
			t.Errorf("chart %d: %+v %+v, want %+v %+v", i, c, c.Remote, w, w.Remote)
		}
	}

	cases := []struct{ name, charts, want string }{
		{"path and repo", "    - {path: charts/x, repo: https://a.example.com, chart: x, version: 1.0.0}\n",
			"/cat/a/group.yaml:9:14: spec.content.charts[0].path: a chart is a path inside the group or a remote chart"},
		{"neither", "    - {releaseName: x}\n", "/cat/a/group.yaml:9:7: spec.content.charts[0]: a chart needs path"},
		{"no version", "    - repo: https://a.example.com\n      chart: x\n", "/cat/a/group.yaml:9:7: spec.content.charts[0]: a remote chart needs an exact version"},
		{"a range", "    - repo: https://a.example.com\n      chart: x\n      version: \">=1.0.0\"\n",
			`/cat/a/group.yaml:11:16: spec.content.charts[0].version: ">=1.0.0" is not an exact version`},
		{"no repo", "    - {chart: x, version: 1.0.0}\n", "/cat/a/group.yaml:9:7: spec.content.charts[0]: a remote chart needs repo:"},
		{"bad scheme", "    - {repo: s3://bucket/charts, chart: x, version: 1.0.0}\n", `/cat/a/group.yaml:9:14: spec.content.charts[0].repo: scheme "s3"`},
		{"repo twice", "    - {repo: oci://r.example.com, chart: oci://r.example.com/x, version: 1.0.0}\n", "spec.content.charts[0].chart: an oci:// reference carries its registry"},
		{"unknown key", "    - {repo: https://a.example.com, chart: x, version: 1.0.0, digest: abc}\n", "spec.content.charts[0].digest: unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 {
				_, err := load(tc.charts)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v\nwant %q", err, tc.want)
				}
			}
		})
	}
}
