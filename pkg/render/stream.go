package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/infergw/gwctl/pkg/atomicfile"
)

// gatewayKinds are the resources the dataplane serves, by API group.
var gatewayKinds = map[string]map[string]bool{
	"gateway.networking.k8s.io": {"Gateway": true, "GatewayClass": true, "HTTPRoute": true, "ReferenceGrant": true, "BackendTLSPolicy": true},
	// A Certificate tells the dataplane's compiler who makes a listener's Secret; the Secret
	// itself is mounted, never copied into the ConfigMap.
	"cert-manager.io":             {"Certificate": true},
	"agentgateway.dev":            {"AgentgatewayBackend": true, "AgentgatewayPolicy": true},
	"inference.networking.k8s.io": {"InferencePool": true},
	"":                            {"Service": true},
}

// IsGatewayResource reports whether the dataplane reads objects of this group and kind.
func IsGatewayResource(apiGroup, kind string) bool { return gatewayKinds[apiGroup][kind] }

// fillGatewayResources writes the gateway resources of the whole render, in apply order, into
// the ConfigMap marked with GatewayResourcesAnnotation.
func fillGatewayResources(objs []*Object) error {
	var target *Object
	for _, o := range objs {
		if o.IsGatewayResources() {
			if target != nil {
				return &Error{Group: o.Group, Err: fmt.Errorf("ConfigMap %s/%s and %s/%s are both annotated %s", target.Namespace, target.Name, o.Namespace, o.Name, GatewayResourcesAnnotation)}
			}
			target = o
		}
	}
	if target == nil {
		return nil
	}
	var b bytes.Buffer
	for _, o := range objs {
		if !IsGatewayResource(o.APIGroup, o.Kind) {
			continue
		}
		y, err := o.YAML()
		if err != nil {
			return &Error{Group: o.Group, Err: err}
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	data := target.res.GetDataMap()
	if data == nil {
		data = map[string]string{}
	}
	data[GatewayResourcesKey] = b.String()
	target.res.SetDataMap(data)
	target.yaml = nil
	return nil
}

// Filter selects objects for output.
type Filter struct {
	// Groups, when set, keeps only objects of these feature groups.
	Groups []string
	// OnlyCRDs keeps only CustomResourceDefinitions; SkipCRDs drops them.
	OnlyCRDs, SkipCRDs bool
}

// Select returns the objects the filter keeps, in order.
func (r *Result) Select(f Filter) []*Object {
	keep := map[string]bool{}
	for _, g := range f.Groups {
		keep[g] = true
	}
	var out []*Object
	for _, o := range r.Objects {
		crd := o.Kind == "CustomResourceDefinition"
		if (f.OnlyCRDs && !crd) || (f.SkipCRDs && crd) || (len(keep) > 0 && !keep[o.Group]) {
			continue
		}
		out = append(out, o)
	}
	return out
}

// Stream renders objects as one YAML stream, each document starting with ---.
func Stream(objs []*Object) ([]byte, error) {
	var b bytes.Buffer
	for _, o := range objs {
		y, err := o.YAML()
		if err != nil {
			return nil, &Error{Group: o.Group, Err: err}
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes(), nil
}

// WriteDir writes one file per feature group (<dir>/<group>.yaml), each atomically, creating dir.
func WriteDir(dir string, objs []*Object) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	byGroup := map[string][]*Object{}
	var order []string
	for _, o := range objs {
		if _, ok := byGroup[o.Group]; !ok {
			order = append(order, o.Group)
		}
		byGroup[o.Group] = append(byGroup[o.Group], o)
	}
	var written []string
	for _, g := range order {
		data, err := Stream(byGroup[g])
		if err != nil {
			return written, err
		}
		p := filepath.Join(dir, g+".yaml")
		if err := atomicfile.Write(p, data, 0o644); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}
