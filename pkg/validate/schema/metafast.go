package schema

import (
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/infergw/gwctl/pkg/fastpath"
)

// metaValid reports whether metavalidation.ValidateObjectMeta finds nothing wrong with m, for
// the metadata manifests carry: a name (no generateName), a namespace, labels and annotations,
// none of the fields only the API server sets. It answers true only when it is sure; false sends
// m to the upstream code, which also writes the messages. Upstream builds a field path for every
// check and runs a regular expression per name, label and annotation key: a fifth of a custom
// resource's validation before any of its own fields. TestMetaValidMatchesUpstream holds it to
// upstream.
func metaValid(m *metav1.ObjectMeta, namespaced bool, nameFn metavalidation.ValidateNameFunc) bool {
	if !fastMeta || m.Name == "" || m.GenerateName != "" || m.Generation < 0 ||
		len(m.OwnerReferences) > 0 || len(m.Finalizers) > 0 || len(m.ManagedFields) > 0 {
		return false
	}
	if namespaced != (m.Namespace != "") || (namespaced && !isDNSLabel(m.Namespace)) {
		return false
	}
	for k, v := range m.Labels {
		if !isLabelKey(k, false) || !isLabelValue(v) {
			return false
		}
	}
	size := 0
	for k, v := range m.Annotations {
		if !isLabelKey(k, true) {
			return false
		}
		size += len(k) + len(v)
	}
	if size > metavalidation.TotalAnnotationSizeLimitB {
		return false
	}
	return len(nameFn(m.Name, false)) == 0
}

var fastMeta = fastpath.Enabled(fastpath.ObjectMeta)

func lowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func alnum(c byte) bool { return lowerAlnum(c) || 'A' <= c && c <= 'Z' }

// isDNSLabel is validation.IsDNS1123Label finding nothing: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || !lowerAlnum(s[0]) || !lowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !lowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// isDNSSubdomain is validation.IsDNS1123Subdomain finding nothing: dot-separated labels as
// isDNSLabel's but of any length, at most 253 in all.
func isDNSSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		part := s[start:i]
		if len(part) == 0 || !lowerAlnum(part[0]) || !lowerAlnum(part[len(part)-1]) {
			return false
		}
		for j := 1; j < len(part)-1; j++ {
			if c := part[j]; !lowerAlnum(c) && c != '-' {
				return false
			}
		}
		start = i + 1
	}
	return true
}

// isLabelKey is validation.IsQualifiedName finding nothing: an optional DNS subdomain prefix
// and '/', then a name of at most 63 as isLabelValue's. With lower, for annotation keys, it is
// IsQualifiedName(strings.ToLower(s)); only ASCII is answered here (ToLower of other bytes is
// not a byte mapping).
func isLabelKey(s string, lower bool) bool {
	name := s
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return false
		}
		if c == '/' {
			prefix := s[:i]
			name = s[i+1:]
			if lower {
				prefix = asciiLower(prefix)
			}
			if !isDNSSubdomain(prefix) {
				return false
			}
			for j := 0; j < len(name); j++ {
				if name[j] == '/' {
					return false
				}
			}
			break
		}
	}
	return len(name) > 0 && isLabelValue(name)
}

// isLabelValue is validation.IsValidLabelValue finding nothing: empty, or
// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63.
func isLabelValue(s string) bool {
	if len(s) == 0 {
		return true
	}
	if len(s) > 63 || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
