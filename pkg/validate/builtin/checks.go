package builtin

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// RuleBuiltin is the rule id of the Go checks made on built-in kinds.
const RuleBuiltin = "builtin/invalid"

// builtinChecks are API server checks the Go types alone do not enforce: on the fields gwctl's
// cross-resource checks rely on (Service ports and selectors, Secret keys), and the server's
// checks that most often refuse a rendered workload (builtin_pod.go, builtin_apps.go).
func builtinChecks(o *manifest.Object, typed runtime.Object) []finding.Finding {
	var out []finding.Finding
	bad := func(path, msg string) { out = append(out, o.Finding(path, RuleBuiltin, finding.Error, msg)) }
	for _, e := range validateWorkload(typed) {
		bad(e.Field, errorBody(e))
	}
	for _, e := range validateDeclarative(typed) {
		bad(e.Field, errorBody(e))
	}
	for _, e := range validateOther(typed) {
		bad(e.Field, errorBody(e))
	}
	switch t := typed.(type) {
	case *corev1.Service:
		for _, e := range validateServicePorts(t) {
			bad(e.Field, errorBody(e))
		}
		names := map[string]bool{}
		for i, p := range t.Spec.Ports {
			base := fmt.Sprintf("spec.ports[%d]", i)
			if p.Port < 1 || p.Port > 65535 {
				bad(base+".port", fmt.Sprintf("Invalid value: %d: must be between 1 and 65535, inclusive", p.Port))
			}
			if len(t.Spec.Ports) > 1 && p.Name == "" {
				bad(base+".name", "Required value")
			}
			if p.Name != "" {
				for _, m := range validation.IsDNS1123Label(p.Name) {
					bad(base+".name", fmt.Sprintf("Invalid value: %q: %s", p.Name, m))
				}
				if names[p.Name] {
					bad(base+".name", fmt.Sprintf("Duplicate value: %q", p.Name))
				}
				names[p.Name] = true
			}
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP && p.Protocol != corev1.ProtocolUDP && p.Protocol != corev1.ProtocolSCTP {
				bad(base+".protocol", fmt.Sprintf("Unsupported value: %q: supported values: \"SCTP\", \"TCP\", \"UDP\"", p.Protocol))
			}
			if p.AppProtocol != nil {
				for _, m := range validation.IsQualifiedName(*p.AppProtocol) {
					bad(base+".appProtocol", fmt.Sprintf("Invalid value: %q: %s", *p.AppProtocol, m))
				}
			}
		}
		if len(t.Spec.Ports) == 0 && t.Spec.Type != corev1.ServiceTypeExternalName && t.Spec.ClusterIP != corev1.ClusterIPNone {
			bad("spec.ports", "Required value")
		}
	case *corev1.Secret:
		// stringData is merged into data before the server validates: it reports both as data[key].
		for k := range t.Data {
			for _, m := range validation.IsConfigMapKey(k) {
				bad(field.NewPath("data").Key(k).String(), fmt.Sprintf("Invalid value: %q: %s", k, m))
			}
		}
		for k := range t.StringData {
			for _, m := range validation.IsConfigMapKey(k) {
				bad(field.NewPath("data").Key(k).String(), fmt.Sprintf("Invalid value: %q: %s", k, m))
			}
		}
	case *corev1.ConfigMap:
		for k := range t.Data {
			for _, m := range validation.IsConfigMapKey(k) {
				bad(field.NewPath("data").Key(k).String(), fmt.Sprintf("Invalid value: %q: %s", k, m))
			}
			if _, ok := t.BinaryData[k]; ok {
				e := field.Invalid(field.NewPath("data").Key(k), k, "duplicate of key present in binaryData")
				bad(e.Field, e.ErrorBody())
			}
		}
		for k := range t.BinaryData {
			for _, m := range validation.IsConfigMapKey(k) {
				e := field.Invalid(field.NewPath("binaryData").Key(k), k, m)
				bad(e.Field, e.ErrorBody())
			}
		}
	}
	return out
}

// errorBody is the message of e without its path; an error without a type carries a message that
// is not the validator's (server-side apply's) and is given as is.
func errorBody(e *field.Error) string {
	if e.Type == "" {
		return e.Detail
	}
	return e.ErrorBody()
}
