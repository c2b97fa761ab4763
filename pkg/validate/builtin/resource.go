package builtin

import (
	"context"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/operation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateDeclarative runs the declarative validation k8s.io/api ships, generated from the
// types' +k8s: tags: the code the API server runs for these kinds. In k8s.io/api v0.37 only
// resource.k8s.io/v1 (dynamic resource allocation) has it for a served, non-alpha group; core,
// apps and batch are validated by hand in k8s.io/kubernetes (builtin_pod.go, builtin_apps.go).
func validateDeclarative(typed any) field.ErrorList {
	errs := declarative(typed)
	out := errs[:0]
	for _, e := range errs {
		// An alpha rule is enforced only behind a feature gate a default server leaves off.
		if !e.IsAlpha() {
			out = append(out, e)
		}
	}
	return out
}

func declarative(typed any) field.ErrorList {
	ctx := context.Background()
	create := operation.Operation{Type: operation.Create}
	switch t := typed.(type) {
	case *resourcev1.ResourceClaim:
		return resourcev1.Validate_ResourceClaimSpec(ctx, create, specPath, &t.Spec, nil)
	case *resourcev1.ResourceClaimTemplate:
		return resourcev1.Validate_ResourceClaimTemplateSpec(ctx, create, specPath, &t.Spec, nil)
	case *resourcev1.DeviceClass:
		return resourcev1.Validate_DeviceClassSpec(ctx, create, specPath, &t.Spec, nil)
	case *resourcev1.ResourceSlice:
		return resourcev1.Validate_ResourceSliceSpec(ctx, create, specPath, &t.Spec, nil)
	}
	return nil
}
