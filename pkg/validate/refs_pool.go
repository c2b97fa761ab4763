package validate

import (
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
)

// checkPool checks an InferencePool's endpointPickerRef as the dataplane resolves it, like a
// Service backend: the dataplane calls that Service over ext_proc, unless the pool is annotated
// to keep the in-process picker.
func checkPool(s *objectSet, e *entry) []finding.Finding {
	if e.obj.Annotations()[gateway.AnnotationEndpointPicker] == "in-process" {
		return nil
	}
	m := mapAt(e.content, "spec", "endpointPickerRef")
	if m == nil {
		return nil
	}
	if g, k := str(m, "group"), str(m, "kind"); g != "" || (k != "" && k != "Service") {
		return nil // the compiler reports a picker that is not a core Service
	}
	r := ref{kind: "Service", ns: e.ns(), name: str(m, "name")}
	r.port, r.hasPort = num(mapAt(m, "port"), "number")
	return resolveService(s, e, r, true, "spec.endpointPickerRef", RuleBackendRef, "endpointPickerRef: ")
}
