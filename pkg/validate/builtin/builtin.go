package builtin

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	kjson "sigs.k8s.io/json"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/jsonvalue"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/registry"
	"github.com/infergw/gwctl/pkg/validate/schema"
)

// builtins decodes built-in kinds strictly into their k8s.io/api Go types.
type Validator struct {
	scheme *runtime.Scheme
}

func New() (*Validator, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("building the built-in scheme: %w", err)
	}
	if err := apiextv1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("building the built-in scheme: %w", err)
	}
	return &Validator{scheme: s}, nil
}

func (b *Validator) Recognizes(k registry.GVK) bool {
	return b.scheme.Recognizes(k8sschema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind})
}

var (
	strictUnknown = regexp.MustCompile(`^unknown field "([^"]*)"$`)
	strictDupKey  = regexp.MustCompile(`^json: duplicate field "([^"]*)"$`)
	typeErrField  = regexp.MustCompile(`Go struct field [A-Za-z0-9_]+\.([^ ]+) of type`)
)

// validate decodes o strictly and validates its metadata. Go types carry no enums or name rules,
// so metadata and a few fields gwctl's own checks depend on get explicit checks.
func (b *Validator) Validate(o *manifest.Object) []finding.Finding {
	buf := jsonBuffers.Get().(*[]byte)
	defer jsonBuffers.Put(buf)
	data, err := jsonvalue.Append((*buf)[:0], o.Content)
	*buf = data
	if err != nil {
		return []finding.Finding{o.Finding("", schema.RuleDecode, finding.Error, "cannot encode object: "+err.Error())}
	}
	var out []finding.Finding
	typed, err := b.decode(o, data)
	if err != nil {
		if se, ok := runtime.AsStrictDecodingError(err); ok {
			for _, e := range se.Errors() {
				msg := e.Error()
				path := ""
				if m := strictUnknown.FindStringSubmatch(msg); m != nil {
					path = m[1]
					out = append(out, o.Finding(path, schema.RuleUnknownField, finding.Error, msg))
					continue
				}
				if m := strictDupKey.FindStringSubmatch(msg); m != nil {
					path = m[1]
				}
				out = append(out, o.Finding(path, schema.RuleDecode, finding.Error, msg))
			}
		} else {
			path := ""
			if m := typeErrField.FindStringSubmatch(err.Error()); m != nil {
				path = m[1]
			}
			return append(out, o.Finding(path, schema.RuleType, finding.Error, strings.TrimPrefix(err.Error(), "json: ")))
		}
	}
	var meta *metav1.ObjectMeta
	if typed != nil {
		if acc, ok := typed.(metav1.ObjectMetaAccessor); ok {
			meta = acc.GetObjectMeta().(*metav1.ObjectMeta)
		}
	}
	if meta == nil {
		return out
	}
	namespaced := !ClusterScoped[o.Kind]
	m := *meta
	if namespaced && m.Namespace == "" {
		m.Namespace = "default"
	}
	nameFn := metavalidation.NameIsDNSSubdomain
	if dnsLabelNames[o.Kind] {
		nameFn = func(name string, prefix bool) []string {
			if prefix && len(name) > 1 && name[len(name)-1] == '-' {
				name = name[:len(name)-2] + "a"
			}
			return validation.IsDNS1123Label(name)
		}
	}
	for _, e := range schema.ValidateMeta(m, namespaced, nameFn) {
		out = append(out, o.Finding(e.Field, schema.RuleMetadata, finding.Error, e.ErrorBody()))
	}
	out = append(out, builtinChecks(o, typed)...)
	return out
}

// decode is what a strict UniversalDeserializer does with the JSON of a registered kind (new
// object of the kind, then sigs.k8s.io/json's strict unmarshal), minus recognising the format and
// reading apiVersion and kind again: the caller knows both.
func (b *Validator) decode(o *manifest.Object, data []byte) (runtime.Object, error) {
	gv, err := k8sschema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return nil, err
	}
	typed, err := b.scheme.New(gv.WithKind(o.Kind))
	if err != nil {
		return nil, err
	}
	strictErrs, err := kjson.UnmarshalStrict(data, typed)
	if err != nil {
		return nil, err
	}
	if len(strictErrs) > 0 {
		return typed, runtime.NewStrictDecodingError(strictErrs)
	}
	return typed, nil
}

// jsonBuffers hold the JSON of one built-in object while it is decoded (the decoder copies what
// it keeps).
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// clusterScoped lists the cluster-scoped built-in kinds.
var ClusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"CustomResourceDefinition": true, "StorageClass": true, "PriorityClass": true, "IngressClass": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "APIService": true,
	"RuntimeClass": true, "CSIDriver": true, "CSINode": true, "VolumeAttachment": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true, "CertificateSigningRequest": true,
	"FlowSchema": true, "PriorityLevelConfiguration": true,
}

// dnsLabelNames are the kinds whose names the API server checks as DNS labels, not subdomains.
var dnsLabelNames = map[string]bool{"Namespace": true, "Service": true}
