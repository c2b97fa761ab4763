package kubeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs applies CustomResourceDefinitions (each a YAML or JSON document) with server-side
// apply, so that installing the same CRDs again (tests sharing the server) changes nothing, and
// waits until each is Established and its resources are served.
func (s *Server) InstallCRDs(ctx context.Context, crds ...[]byte) error {
	dc, err := dynamic.NewForConfig(s.Config())
	if err != nil {
		return err
	}
	// One request per CRD, side by side: a large CRD takes the server a while to store and to
	// compile, and the next need not wait for it.
	errs := make([]error, len(crds))
	var wg sync.WaitGroup
	for i, doc := range crds {
		wg.Go(func() { errs[i] = installCRD(ctx, dc, i, doc) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func installCRD(ctx context.Context, dc dynamic.Interface, i int, doc []byte) error {
	data, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("kubeapi: CRD %d: %w", i, err)
	}
	var u unstructured.Unstructured
	if err := json.Unmarshal(data, &u.Object); err != nil {
		return fmt.Errorf("kubeapi: CRD %d: %w", i, err)
	}
	if u.GetKind() != "CustomResourceDefinition" {
		return fmt.Errorf("kubeapi: CRD %d is a %s", i, u.GetKind())
	}
	if _, err := dc.Resource(crdResource).Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "kubeapi", Force: new(true)}); err != nil {
		return fmt.Errorf("kubeapi: install CRD %s: %w", u.GetName(), err)
	}
	return waitEstablished(ctx, dc, u.GetName())
}

func waitEstablished(ctx context.Context, dc dynamic.Interface, name string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		u, err := dc.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("kubeapi: CRD %s: %w", name, err)
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kubeapi: CRD %s not Established within a minute: %v", name, conds)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond): // polling interval
		}
	}
}
