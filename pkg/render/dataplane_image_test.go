package render_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/version"
)

func dataplaneContainer(t *testing.T, out *render.Result) (image string, args []string) {
	t.Helper()
	for _, o := range out.Objects {
		if o.Kind != "Deployment" || o.Name != "dataplane" {
			continue
		}
		b, err := o.YAML()
		if err != nil {
			t.Fatal(err)
		}
		var dep appsv1.Deployment
		if err := yaml.Unmarshal(b, &dep); err != nil {
			t.Fatal(err)
		}
		c := dep.Spec.Template.Spec.Containers[0]
		return c.Image, c.Args
	}
	t.Fatal("no dataplane Deployment in the render")
	return "", nil
}

// Issue #19: the chart deploys the dataplane image of the gwctl release that renders it (never a
// moving tag), and --set dataplane.image overrides it.
func TestDataplaneImage(t *testing.T) {
	defer func(v string) { version.Version = v }(version.Version)
	version.Version = "v1.4.2"
	cases := []struct {
		name string
		set  []string
		want string
	}{
		{"release tag", nil, "ghcr.io/infergw/dataplane:1.4.2"},
		{"override", []string{"dataplane.image=registry.example.com/dp@sha256:" + strings.Repeat("a", 64)},
			"registry.example.com/dp@sha256:" + strings.Repeat("a", 64)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, _ := dataplaneContainer(t, renderWith(t, bundled(t), nil, tc.set...))
			if img != tc.want {
				t.Errorf("image = %q, want %q", img, tc.want)
			}
			if strings.HasSuffix(img, ":latest") {
				t.Errorf("image %q uses :latest", img)
			}
		})
	}
	if got := platform.DefaultImage(); got != "ghcr.io/infergw/dataplane:1.4.2" {
		t.Errorf("DefaultImage() = %q", got)
	}
}

// The bundled GatewayClass claims the controller name the dataplane is started with, so the
// dataplane serves the bundled Gateway and nothing else.
func TestDataplaneControllerName(t *testing.T) {
	for _, set := range [][]string{nil, {"dataplane.controllerName=example.com/gw"}} {
		out := renderWith(t, bundled(t), nil, set...)
		_, args := dataplaneContainer(t, out)
		flag := ""
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, "--controller-name="); ok {
				flag = v
			}
		}
		var class string
		for _, o := range out.Objects {
			if o.Kind == "GatewayClass" && o.Name == "gwctl" {
				b, err := o.YAML()
				if err != nil {
					t.Fatal(err)
				}
				var gc struct {
					Spec struct {
						ControllerName string `json:"controllerName"`
					} `json:"spec"`
				}
				if err := yaml.Unmarshal(b, &gc); err != nil {
					t.Fatal(err)
				}
				class = gc.Spec.ControllerName
			}
		}
		if flag == "" || flag != class {
			t.Errorf("set %v: --controller-name=%q, GatewayClass gwctl controllerName %q", set, flag, class)
		}
	}
}
