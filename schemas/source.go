package schemas

import (
	"fmt"
	"io/fs"
	"sync"

	"go.yaml.in/yaml/v3"
)

// ManifestName is the provenance file at the top of schemas/.
const ManifestName = "SOURCE.yaml"

// The upstreams gwctl embeds schemas of, as Set.Name says them.
const (
	GatewayAPI         = "gateway-api"
	Agentgateway       = "agentgateway"
	InferenceExtension = "inference-extension"
	ExternalSecrets    = "external-secrets"
	ArgoCD             = "argo-cd"
	CertManager        = "cert-manager"
)

// Manifest is SOURCE.yaml: where every derived file comes from. Fields are in key order, so
// that the file's keys are sorted.
type Manifest struct {
	// Kind says what a derivation keeps and what it drops.
	Kind string `yaml:"kind"`
	// Reference is the reference folder make schemas read, relative to the repository root.
	Reference string `yaml:"reference"`
	Sets      []Set  `yaml:"sets"`
}

// A Set is the CRDs of one upstream release, derived into the directory Dir (<name>/<version>).
type Set struct {
	Dir      string `yaml:"dir"`
	Files    []File `yaml:"files"`
	License  string `yaml:"license"`
	Name     string `yaml:"name"`
	Upstream string `yaml:"upstream"`
	Version  string `yaml:"version"`
}

// A File is one derived CRD file: the CRD of Group and Kind, so that a reader can tell which
// file serves a kind without parsing them all.
type File struct {
	From   Origin `yaml:"from"`
	Group  string `yaml:"group"`
	Kind   string `yaml:"kind"`
	Path   string `yaml:"path"` // relative to schemas/
	SHA256 string `yaml:"sha256"`
}

// Origin is the upstream file a derived file comes from.
type Origin struct {
	// Module is module@version when the file comes from a Go module (its zip, as the module
	// proxy serves it); empty when it comes from the reference folder.
	Module string `yaml:"module,omitempty"`
	// Path is relative to the module's root, or to the reference folder.
	Path   string `yaml:"path"`
	SHA256 string `yaml:"sha256"`
}

// FS returns the set's files, by name.
func (s Set) FS() fs.FS {
	sub, err := fs.Sub(FS, s.Dir)
	if err != nil {
		panic(err) // Dir is a valid path: SOURCE.yaml is generated
	}
	return sub
}

// ParseManifest decodes a SOURCE.yaml.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	return &m, nil
}

var embedded = sync.OnceValues(func() (*Manifest, error) {
	data, err := FS.ReadFile(ManifestName)
	if err != nil {
		return nil, err
	}
	return ParseManifest(data)
})

// Sets lists the embedded sets, in SOURCE.yaml's order (by directory).
func Sets() []Set {
	m, err := embedded()
	if err != nil {
		panic(err) // SOURCE.yaml is generated and tested
	}
	return m.Sets
}

// Versions lists the embedded versions of an upstream, in SOURCE.yaml's order.
func Versions(name string) []Set {
	var out []Set
	for _, s := range Sets() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}
