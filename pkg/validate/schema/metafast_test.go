package schema

import (
	"math/rand/v2"
	"strings"
	"testing"

	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestMetaValidMatchesUpstream: on plain metadata (name, namespace, labels, annotations) built
// from strings near every rule's edges, metaValid says valid only when
// metavalidation.ValidateObjectMeta reports nothing, and always then for ASCII metadata, for both
// name rules gwctl uses; it leaves everything else (generateName, owner references,
// finalizers, negative generation) to upstream.
func TestMetaValidMatchesUpstream(t *testing.T) {
	if !fastMeta {
		t.Skip("GWCTL_NOFAST turns the metadata check off")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabets := []string{"abc019", "abc-.", "aZ09-_.", "a-./_Z9", "a\u00e9\u212a/.-A"}
	word := func() string {
		if rng.IntN(8) == 0 {
			return ""
		}
		if rng.IntN(2) == 0 { // plausible: near-valid for every rule
			var b strings.Builder
			b.WriteByte('a')
			for range rng.IntN(10) {
				b.WriteByte("abc019-"[rng.IntN(7)])
			}
			b.WriteByte('9')
			return b.String()
		}
		a := []rune(alphabets[rng.IntN(len(alphabets))])
		n := []int{1, 2, 3, 8, 62, 63, 64, 252, 253, 254}[rng.IntN(10)]
		if rng.IntN(2) == 0 {
			n = 1 + rng.IntN(12)
		}
		var b strings.Builder
		for range n {
			b.WriteRune(a[rng.IntN(len(a))])
		}
		return b.String()
	}
	key := func() string {
		switch rng.IntN(4) {
		case 0:
			return word() + "/" + word()
		case 1:
			return "example.com/" + word()
		default:
			return word()
		}
	}
	nameFns := map[string]metavalidation.ValidateNameFunc{"subdomain": metavalidation.NameIsDNSSubdomain, "label": metavalidation.NameIsDNSLabel}
	valid, total := 0, 0
	for i := 0; i < 50000; i++ {
		m := metav1.ObjectMeta{Name: word(), Namespace: word()}
		if rng.IntN(3) == 0 {
			m.Name = "a" + strings.ToLower(m.Name)
		}
		if rng.IntN(3) == 0 {
			m.Namespace = "team-" + strings.ToLower(m.Namespace)
		}
		for range rng.IntN(3) {
			if m.Labels == nil {
				m.Labels = map[string]string{}
			}
			m.Labels[key()] = word()
		}
		for range rng.IntN(3) {
			if m.Annotations == nil {
				m.Annotations = map[string]string{}
			}
			m.Annotations[key()] = word()
		}
		if rng.IntN(200) == 0 {
			m.Annotations = map[string]string{"a": strings.Repeat("x", metavalidation.TotalAnnotationSizeLimitB)}
		}
		namespaced := rng.IntN(4) != 0
		for name, fn := range nameFns {
			upstream := metavalidation.ValidateObjectMeta(&m, namespaced, fn, field.NewPath("metadata"))
			got := metaValid(&m, namespaced, fn)
			// Non-ASCII annotation keys are left to upstream even when valid (ToLower).
			if got != (len(upstream) == 0) && (got || asciiMeta(&m)) {
				t.Fatalf("%s name, namespaced %v, %+v: metaValid %v, upstream %v", name, namespaced, m, got, upstream.ToAggregate())
			}
			total++
			if got {
				valid++
			}
		}
	}
	if valid < 2000 || total-valid < 2000 {
		t.Fatalf("%d of %d valid: the cases do not cover both sides", valid, total)
	}
	t.Logf("%d of %d cases valid", valid, total)

	ok := metav1.ObjectMeta{Name: "a", Namespace: "b"}
	for name, m := range map[string]metav1.ObjectMeta{
		"generateName": {GenerateName: "a-", Namespace: "b"},
		"finalizers":   {Name: "a", Namespace: "b", Finalizers: []string{"x/y"}},
		"owners":       {Name: "a", Namespace: "b", OwnerReferences: []metav1.OwnerReference{{}}},
		"generation":   {Name: "a", Namespace: "b", Generation: -1},
	} {
		if metaValid(&m, true, metavalidation.NameIsDNSSubdomain) {
			t.Errorf("%s: answered, want left to upstream", name)
		}
	}
	if !metaValid(&ok, true, metavalidation.NameIsDNSSubdomain) {
		t.Error("a/b: not answered")
	}
}

func asciiMeta(m *metav1.ObjectMeta) bool {
	all := m.Name + m.Namespace
	for k, v := range m.Labels {
		all += k + v
	}
	for k, v := range m.Annotations {
		all += k + v
	}
	for i := 0; i < len(all); i++ {
		if all[i] >= 0x80 {
			return false
		}
	}
	return true
}
