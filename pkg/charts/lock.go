package charts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/pkg/atomicfile"
	"github.com/infergw/gwctl/pkg/docschema"
	"github.com/infergw/gwctl/pkg/manifest"
)

// LockFileName is the lock file's default name, at the platform repo's root.
const LockFileName = "gwctl.lock"

// Entry is one locked chart: where it comes from and the sha256 of its archive.
type Entry struct {
	Ref
	Digest string
}

// Lock is the lock file: every remote chart the platform renders, sorted by repo, chart and
// version.
type Lock struct {
	Charts []Entry
}

// Find returns ref's entry.
func (l *Lock) Find(ref Ref) (Entry, bool) {
	for _, e := range l.Charts {
		if e.Ref == ref {
			return e, true
		}
	}
	return Entry{}, false
}

const lockHeader = "# Written by gwctl charts pull: the remote charts this platform renders and the sha256 of each\n" +
	"# archive. Commit it. gwctl render reads charts from the cache only and refuses one whose\n" +
	"# archive differs from its digest here.\n"

// Marshal is the lock file's content: the header, then the entries sorted. The same lock
// always gives the same bytes.
func (l *Lock) Marshal() []byte {
	entries := append([]Entry(nil), l.Charts...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].less(entries[j].Ref) })
	type entry struct {
		Repo    string `yaml:"repo"`
		Chart   string `yaml:"chart"`
		Version string `yaml:"version"`
		Digest  string `yaml:"digest"`
	}
	doc := struct {
		APIVersion string  `yaml:"apiVersion"`
		Kind       string  `yaml:"kind"`
		Charts     []entry `yaml:"charts"`
	}{APIVersion: "gwctl.infergw.dev/v1alpha1", Kind: "Lock", Charts: []entry{}}
	for _, e := range entries {
		doc.Charts = append(doc.Charts, entry{e.Repo, e.Chart, e.Version, e.Digest})
	}
	var b bytes.Buffer
	b.WriteString(lockHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		panic(err) // plain strings always encode
	}
	_ = enc.Close()
	return b.Bytes()
}

// WriteLock writes the lock atomically, and only when its content changes (so a pull that
// changes nothing leaves the file as it was). It reports whether it wrote.
func WriteLock(file string, l *Lock) (bool, error) {
	data := l.Marshal()
	if have, err := os.ReadFile(file); err == nil && bytes.Equal(have, data) {
		return false, nil
	}
	return true, atomicfile.Write(file, data, 0o644)
}

// LockSchemaJSON is the JSON Schema of the lock file.
const LockSchemaJSON = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "gwctl lock file",
  "type": "object",
  "additionalProperties": false,
  "required": ["apiVersion", "kind", "charts"],
  "properties": {
    "apiVersion": {"const": "gwctl.infergw.dev/v1alpha1"},
    "kind": {"const": "Lock"},
    "charts": {"type": "array", "items": {
      "type": "object", "additionalProperties": false, "required": ["repo", "chart", "version", "digest"],
      "properties": {
        "repo": {"type": "string"},
        "chart": {"type": "string"},
        "version": {"type": "string"},
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}
      }
    }}
  }
}`

var lockSchema = sync.OnceValue(func() *docschema.Schema { return docschema.MustCompile("lock.schema.json", LockSchemaJSON) })

// ReadLock reads a lock file. A missing file is an error that wraps fs.ErrNotExist.
func ReadLock(file string) (*Lock, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseLock(file, data)
}

// ParseLock decodes and checks a lock file's content; errors name file:line:column.
func ParseLock(file string, data []byte) (*Lock, error) {
	doc, err := manifest.ParseMapping(file, data, manifest.DefaultLimits)
	if err != nil {
		return nil, err
	}
	if err := lockSchema().Validate(doc); err != nil {
		return nil, err
	}
	l := &Lock{}
	seen := map[Ref]bool{}
	list, _ := doc.Content["charts"].([]any)
	for i, v := range list {
		m := v.(map[string]any)
		s := func(k string) string { x, _ := m[k].(string); return x }
		ref, err := ParseRef(s("repo"), s("chart"), s("version"))
		key := fmt.Sprintf("charts[%d]", i)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				key += "." + fe.Field
				err = errors.New(fe.Msg)
			}
			return nil, docschema.Errors{{File: file, Pos: doc.FieldPos(key), Key: key, Msg: err.Error()}}
		}
		if seen[ref] {
			return nil, docschema.Errors{{File: file, Pos: doc.FieldPos(key), Key: key, Msg: "listed twice: " + ref.String()}}
		}
		seen[ref] = true
		l.Charts = append(l.Charts, Entry{Ref: ref, Digest: s("digest")})
	}
	return l, nil
}
