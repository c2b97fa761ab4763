package render_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Issue #15: the dataplane's debug endpoints (/configz: routes, upstream addresses, JWKS,
// policies) stay on the pod's loopback. The chart exposes the traffic port and the admin port
// (/healthz, /readyz, /metrics) only, and never moves --debug-addr off loopback.
func TestDataplaneChartExposesNoDebugPort(t *testing.T) {
	out := renderWith(t, bundled(t), nil)
	var dep appsv1.Deployment
	var svc corev1.Service
	for _, o := range out.Objects {
		if o.Name != "dataplane" || (o.Kind != "Deployment" && o.Kind != "Service") {
			continue
		}
		b, err := o.YAML()
		if err != nil {
			t.Fatal(err)
		}
		into := any(&dep)
		if o.Kind == "Service" {
			into = &svc
		}
		if err := yaml.Unmarshal(b, into); err != nil {
			t.Fatalf("%s/%s: %v", o.Kind, o.Name, err)
		}
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 || len(svc.Spec.Ports) == 0 {
		t.Fatalf("no dataplane Deployment or Service in the render")
	}
	c := dep.Spec.Template.Spec.Containers[0]
	adminPort := ""
	for _, a := range c.Args {
		name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "admin":
			_, adminPort, _ = net.SplitHostPort(value)
		case "debug-addr":
			host, _, err := net.SplitHostPort(value)
			if ip := net.ParseIP(host); value != "" && (err != nil || ip == nil || !ip.IsLoopback()) {
				t.Errorf("the chart binds the debug address off loopback: %s", a)
			}
		}
	}
	ports := map[string]string{}
	for _, p := range c.Ports {
		ports[p.Name] = strconv.Itoa(int(p.ContainerPort))
	}
	if len(ports) != 2 || ports["http"] == "" || ports["admin"] != adminPort {
		t.Errorf("container ports %v, want http and admin (= --admin port %q) only", c.Ports, adminPort)
	}
	if r, l := c.ReadinessProbe, c.LivenessProbe; r == nil || l == nil || r.HTTPGet.Path != "/readyz" || r.HTTPGet.Port.String() != "admin" ||
		l.HTTPGet.Path != "/healthz" || l.HTTPGet.Port.String() != "admin" {
		t.Errorf("probes: readiness %+v, liveness %+v; want /readyz and /healthz on the admin port", r, l)
	}
	for _, p := range svc.Spec.Ports {
		if tp := p.TargetPort.String(); tp != "http" && tp != "admin" {
			t.Errorf("the Service exposes port %s (target %s)", p.Name, tp)
		}
	}
}
