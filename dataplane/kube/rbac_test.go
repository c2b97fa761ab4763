package kube_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/infergw/gwctl/dataplane/kube"
	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
)

// grant is one verb on one resource, as RBAC evaluates it.
func grants(scope, group, resource, verb string, names []string) string {
	n := append([]string(nil), names...)
	sort.Strings(n)
	return scope + " " + group + "/" + resource + " " + verb + " [" + strings.Join(n, ",") + "]"
}

// Issue #19: the chart grants exactly what Kubernetes mode calls: no verb the informers and
// status writers do not use, none missing, Secrets and the Lease only in the dataplane's
// namespace.
func TestChartRBACMatchesPermissions(t *testing.T) {
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Platform(context.Background(), cat, platform.Options{Set: []string{"dataplane.mode=kubernetes", "dataplane.gatewayPorts=20000-20999"}})
	if err != nil {
		t.Fatal(err)
	}
	var ns string
	got := map[string]bool{}
	var dep appsv1.Deployment
	for _, o := range out.Objects {
		b, err := o.YAML()
		if err != nil {
			t.Fatal(err)
		}
		var rules []rbacv1.PolicyRule
		scope := ""
		switch o.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			if err := yaml.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			rules, scope = r.Rules, "cluster"
		case "Role":
			var r rbacv1.Role
			if err := yaml.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			rules, scope, ns = r.Rules, "namespace", r.Namespace
		case "Deployment":
			if o.Name == "dataplane" {
				if err := yaml.Unmarshal(b, &dep); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, r := range rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						got[grants(scope, g, res, v, r.ResourceNames)] = true
					}
				}
			}
		}
	}
	want := map[string]bool{}
	for _, r := range kube.Permissions() {
		scope := "cluster"
		if r.Namespaced {
			scope = "namespace"
		}
		for _, v := range r.Verbs {
			want[grants(scope, r.APIGroup, r.Resource, v, r.ResourceNames)] = true
		}
	}
	for g := range got {
		if !want[g] {
			t.Errorf("the chart grants %s, which Kubernetes mode does not use", g)
		}
	}
	for w := range want {
		if !got[w] {
			t.Errorf("Kubernetes mode needs %s, which the chart does not grant", w)
		}
	}
	if ns != "agentgateway-system" {
		t.Errorf("Role in namespace %q, want the dataplane's", ns)
	}
	c := dep.Spec.Template.Spec.Containers
	if len(c) != 1 || !contains(c[0].Args, "--kubernetes") || !contains(c[0].Args, "--gateway-ports=20000-20999") || contains(c[0].Args, "--config=/etc/dataplane/resources") {
		t.Fatalf("dataplane args in kubernetes mode: %v", c)
	}
	if a := dep.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || !*a {
		t.Errorf("kubernetes mode needs the service account token mounted")
	}
	for _, o := range out.Objects {
		if o.Kind == "Secret" {
			t.Errorf("the render has a Secret %s/%s", o.Namespace, o.Name)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
