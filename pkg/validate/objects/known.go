package objects

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/pkg/manifest"
)

// Known is an object that exists outside the input (installed by another chart, created by an
// operator): references to it resolve. Object is the whole object when the list held it (a
// `kubectl get -o yaml` dump); an object known only by name satisfies references, and the
// checks that read a referenced object (Service ports, Gateway listeners, Secret keys) skip it.
type Known struct {
	// Group is the API group; "*" matches any group (a kind gwctl cannot place, listed without
	// apiVersion or group).
	Group, Kind, Namespace, Name string
	Object                       *manifest.Object
}

// knownGroups places the kinds references name, so a known-objects list may give the kind alone.
var knownGroups = map[string]string{
	"Service": "", "Secret": "", "ConfigMap": "", "Namespace": "", "ServiceAccount": "",
	"Gateway": GatewayGroup, "GatewayClass": GatewayGroup, "HTTPRoute": GatewayGroup, "GRPCRoute": GatewayGroup,
	"ReferenceGrant": GatewayGroup, "InferencePool": InferenceGroup,
	"AgentgatewayBackend": AgentgatewayGroup, "AgentgatewayPolicy": AgentgatewayGroup, "AgentgatewayParameters": AgentgatewayGroup,
	"ExternalSecret": "external-secrets.io",
}

// ReadKnown reads a known-objects file: a YAML or JSON list of {kind, namespace, name} (with
// apiVersion or group when the kind is not one of knownGroups'), a List whose items are such
// entries or whole objects (`kubectl get -o yaml`), or a stream of whole objects.
func ReadKnown(file string, data []byte) ([]Known, error) {
	if lim := manifest.DefaultLimits.MaxFileBytes; int64(len(data)) > lim {
		return nil, &manifest.Error{File: file, Msg: fmt.Sprintf("file is %d bytes, over the limit of %d", len(data), lim)}
	}
	var out []Known
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, &manifest.Error{File: file, Msg: "YAML syntax: " + strings.TrimPrefix(err.Error(), "yaml: ")}
		}
		root := &doc
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		var items []*yaml.Node
		switch {
		case root.Kind == yaml.SequenceNode:
			items = root.Content
		case root.Kind == yaml.MappingNode && value(root, "items") != nil:
			items = value(root, "items").Content
		case root.Kind == yaml.MappingNode && value(root, "kind") != nil:
			items = []*yaml.Node{root}
		case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
			continue
		default:
			return nil, &manifest.Error{File: file, Pos: nodePos(root), Msg: "expected a list of {kind, namespace, name}, a List, or objects"}
		}
		for _, it := range items {
			k, err := knownItem(file, it)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
	}
}

func knownItem(file string, it *yaml.Node) (Known, error) {
	if it.Kind != yaml.MappingNode {
		return Known{}, &manifest.Error{File: file, Pos: nodePos(it), Msg: "a known object is a mapping: {kind, namespace, name}"}
	}
	if md := value(it, "metadata"); md != nil {
		// A whole object: read it as any manifest is read.
		text, err := yaml.Marshal(it)
		if err != nil {
			return Known{}, &manifest.Error{File: file, Pos: nodePos(it), Msg: err.Error()}
		}
		objs, err := manifest.Parse(file, text, manifest.DefaultLimits)
		if err != nil || len(objs) != 1 {
			return Known{}, &manifest.Error{File: file, Pos: nodePos(it), Msg: fmt.Sprintf("object is not readable: %v", err)}
		}
		o := objs[0]
		o.Pos = nodePos(it)
		return Known{Group: o.Group(), Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Object: o}, nil
	}
	k := Known{Kind: scalar(it, "kind"), Namespace: scalar(it, "namespace"), Name: scalar(it, "name"), Group: "*"}
	if k.Kind == "" || k.Name == "" {
		return Known{}, &manifest.Error{File: file, Pos: nodePos(it), Msg: "a known object needs kind and name (and namespace, unless cluster-scoped)"}
	}
	switch av, g := scalar(it, "apiVersion"), value(it, "group"); {
	case av != "":
		k.Group = ""
		if i := strings.IndexByte(av, '/'); i >= 0 {
			k.Group = av[:i]
		}
	case g != nil:
		k.Group = scalar(it, "group")
	default:
		if grp, ok := knownGroups[k.Kind]; ok {
			k.Group = grp
		}
	}
	return k, nil
}

func nodePos(n *yaml.Node) manifest.Pos { return manifest.Pos{Line: n.Line, Column: n.Column} }

// value is the value of key in mapping n, nil when absent.
func value(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			if v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

// scalar is the text of a scalar value of key, "" otherwise.
func scalar(n *yaml.Node, key string) string {
	if v := value(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// entry turns a known object into a set entry, marked as outside the input.
func (k Known) entry() *Entry {
	if k.Object != nil {
		return &Entry{Obj: k.Object, Content: k.Object.Content, Known: true}
	}
	av := "v1"
	if k.Group != "" {
		av = k.Group + "/"
	}
	o := &manifest.Object{APIVersion: av, Kind: k.Kind, Namespace: k.Namespace, Name: k.Name}
	return &Entry{Obj: o, Known: true, Stub: true}
}
