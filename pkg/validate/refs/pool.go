package refs

import (
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// checkPool checks an InferencePool's endpointPickerRef as the dataplane resolves it, like a
// Service backend: the dataplane calls that Service over ext_proc, unless the pool is annotated
// to keep the in-process picker.
func checkPool(s *objects.Set, e *objects.Entry) []finding.Finding {
	if e.Obj.Annotations()[gateway.AnnotationEndpointPicker] == "in-process" {
		return nil
	}
	m := objects.MapAt(e.Content, "spec", "endpointPickerRef")
	if m == nil {
		return nil
	}
	if g, k := objects.Str(m, "group"), objects.Str(m, "kind"); g != "" || (k != "" && k != "Service") {
		return nil // the compiler reports a picker that is not a core Service
	}
	r := objects.Ref{Kind: "Service", NS: e.NS(), Name: objects.Str(m, "name")}
	r.Port, r.HasPort = objects.Num(objects.MapAt(m, "port"), "number")
	return resolveService(s, e, r, true, "spec.endpointPickerRef", RuleBackendRef, "endpointPickerRef: ")
}
