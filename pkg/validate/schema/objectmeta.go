package schema

import (
	"unicode/utf8"

	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// objectMeta is objectmeta.GetObjectMetaWithOptions with unknown field paths returned, as
// validateCR calls it, answered directly for the metadata manifests carry (name, generateName,
// namespace, labels and annotations, all strings): upstream's JSON round trip through
// reflection cost a twentieth of each custom resource's validation. Anything else, and
// strings that are not valid UTF-8 (JSON would change them), go to upstream's code.
func objectMeta(obj map[string]any) (*metav1.ObjectMeta, []string, error) {
	if meta, ok := simpleObjectMeta(obj); ok {
		return meta, nil, nil
	}
	meta, _, unknown, err := objectmeta.GetObjectMetaWithOptions(obj, objectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	return meta, unknown, err
}

func simpleObjectMeta(obj map[string]any) (*metav1.ObjectMeta, bool) {
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		return nil, false
	}
	meta := &metav1.ObjectMeta{}
	for k, v := range md {
		switch k {
		case "name", "generateName", "namespace":
			s, ok := v.(string)
			if !ok || !utf8.ValidString(s) {
				return nil, false
			}
			switch k {
			case "name":
				meta.Name = s
			case "generateName":
				meta.GenerateName = s
			default:
				meta.Namespace = s
			}
		case "labels", "annotations":
			m, ok := stringMap(v)
			if !ok {
				return nil, false
			}
			if k == "labels" {
				meta.Labels = m
			} else {
				meta.Annotations = m
			}
		default:
			return nil, false
		}
	}
	return meta, true
}

func stringMap(v any) (map[string]string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := e.(string)
		if !ok || !utf8.ValidString(s) || !utf8.ValidString(k) {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}

// validateMeta is metavalidation.ValidateObjectMeta after the API server's name generation: an
// object with only generateName is named by the prefix (cut to 58 characters) and 5 random
// characters before it is validated, so a Job or ConfigMap named that way is not missing its
// name. The generated name is valid whenever the prefix is, and the prefix's own error says
// what to fix, so no error is reported about the generated name.
func ValidateMeta(m metav1.ObjectMeta, namespaced bool, nameFn metavalidation.ValidateNameFunc) field.ErrorList {
	const maxPrefix = 63 - 5 // k8s.io/apiserver/pkg/storage/names
	if metaValid(&m, namespaced, nameFn) {
		return nil
	}
	if m.Name != "" || m.GenerateName == "" {
		return metavalidation.ValidateObjectMeta(&m, namespaced, nameFn, field.NewPath("metadata"))
	}
	m.Name = m.GenerateName[:min(len(m.GenerateName), maxPrefix)] + "x7k2q"
	errs := metavalidation.ValidateObjectMeta(&m, namespaced, nameFn, field.NewPath("metadata"))
	out := errs[:0]
	for _, e := range errs {
		if e.Field != "metadata.name" {
			out = append(out, e)
		}
	}
	return out
}
