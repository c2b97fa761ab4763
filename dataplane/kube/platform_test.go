package kube_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
)

// Issue #19, done when: `gwctl render | kubectl apply --server-side -f -` of the bundled
// platform in Kubernetes mode, with the dataplane following that API server, shows the class
// Accepted, the Gateway Programmed, the routes Accepted and the InferencePool's parent.
func TestBundledPlatformStatus(t *testing.T) {
	c := startCluster(t)
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Platform(context.Background(), cat, platform.Options{Set: []string{"dataplane.mode=kubernetes"}})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := render.Stream(out.Objects)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	applied := kubectl(t, c.s, ctx, string(stream), "apply", "--server-side", "-f", "-")
	t.Logf("kubectl apply --server-side:\n%s", applied)

	runDataplane(t, c, "agentgateway-system")
	gvrPool := schema.GroupVersionResource{Group: "inference.networking.k8s.io", Version: "v1", Resource: "inferencepools"}
	gvrPolicy := schema.GroupVersionResource{Group: "agentgateway.dev", Version: "v1alpha1", Resource: "agentgatewaypolicies"}
	eventually(t, 20*time.Second, func() string {
		if s, r := condition(get(t, c, gvrClass, "", "gwctl"), "Accepted", "status", "conditions"); s != "True" {
			return "GatewayClass gwctl Accepted " + s + " " + r
		}
		g := get(t, c, gvrGateway, "inference", "inference-gateway")
		for _, typ := range []string{"Accepted", "Programmed"} {
			if s, r := condition(g, typ, "status", "conditions"); s != "True" {
				return "Gateway " + typ + " " + s + " " + r
			}
		}
		if s, r := routeParent(get(t, c, gvrRoute, "inference", "local-models"), "Accepted"); s != "True" {
			return "HTTPRoute local-models Accepted " + s + " " + r
		}
		p := get(t, c, gvrPool, "inference", "vllm")
		parents, _, _ := unstructured.NestedSlice(p.Object, "status", "parents")
		if len(parents) != 1 {
			return fmt.Sprintf("InferencePool parents %v", parents)
		}
		if s, r := condition(&unstructured.Unstructured{Object: parents[0].(map[string]any)}, "Accepted", "conditions"); s != "True" {
			return "InferencePool parent Accepted " + s + " " + r
		}
		pol := get(t, c, gvrPolicy, "inference", "bbr")
		anc, _, _ := unstructured.NestedSlice(pol.Object, "status", "ancestors")
		if len(anc) != 1 {
			return fmt.Sprintf("AgentgatewayPolicy bbr ancestors %v", anc)
		}
		if s, r := condition(&unstructured.Unstructured{Object: anc[0].(map[string]any)}, "Accepted", "conditions"); s != "True" {
			return "AgentgatewayPolicy bbr Accepted " + s + " " + r
		}
		return ""
	})
	t.Logf("kubectl get gatewayclass,gateway,httproute,inferencepool -A:\n%s",
		kubectl(t, c.s, ctx, "", "get", "gatewayclass,gateway,httproute,inferencepool", "-A"))
}
