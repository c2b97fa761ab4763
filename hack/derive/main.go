// Command derive builds the upstream reference data under the top-level testdata/ from the
// reference folder (make testdata names it): the facts tests read, without the prose.
package main

// What it keeps
//
// Only the files tests read, with the facts kept
// (structure, types, enums, bounds, patterns, rules and their messages, test documents and their
// expected errors, recorded wire bytes) and the prose dropped, re-serialised deterministically,
// and recorded with their origin and sha256 in testdata/SOURCE.yaml. Run from the repository root:
//
//	go run ./hack/derive -ref DIR [-out testdata]

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/infergw/gwctl/hack/derivation"
)

func main() {
	ref := flag.String("ref", "", "the reference folder (required)")
	out := flag.String("out", "testdata", "directory to write to")
	flag.Parse()
	if *ref == "" {
		fmt.Fprintln(os.Stderr, "usage: derive -ref DIR [-out testdata]")
		os.Exit(2)
	}
	if err := run(*ref, *out); err != nil {
		fmt.Fprintln(os.Stderr, "derive:", err)
		os.Exit(1)
	}
}

func run(ref, out string) error {
	// The manifest names the reference folder relative to the repository root (the working
	// directory), so that it reads the same on every machine.
	rel := ref
	if filepath.IsAbs(ref) {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if rel, err = filepath.Rel(wd, ref); err != nil {
			return err
		}
	}
	files, err := derive(ref, filepath.ToSlash(rel))
	if err != nil {
		return err
	}
	for _, s := range sets {
		if err := os.RemoveAll(filepath.Join(out, filepath.FromSlash(s.Dir))); err != nil {
			return err
		}
	}
	total, err := derivation.WriteFiles(out, files)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %d files (%d bytes) to %s\n", len(files), total, out)
	return nil
}

// derive reads the reference folder ref and returns every file of testdata/ it produces, by path
// relative to testdata/, including the manifest. refName is how the manifest names ref.
func derive(ref, refName string) (map[string][]byte, error) {
	files := map[string][]byte{}
	m := &manifest{Kinds: kinds, Reference: refName}
	for _, s := range sets {
		rec, err := deriveSet(ref, s, files)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Dir, err)
		}
		m.Sets = append(m.Sets, rec)
	}
	data, err := encodeManifest(m)
	if err != nil {
		return nil, err
	}
	files[ManifestName] = data
	return files, nil
}

func deriveSet(ref string, s set, files map[string][]byte) (setRecord, error) {
	rec := setRecord{Dir: s.Dir, License: s.License, Upstream: s.Upstream, Version: s.Version}
	source, err := os.ReadFile(filepath.Join(ref, filepath.FromSlash(s.Source)))
	if err != nil {
		return rec, err
	}
	if !bytes.Contains(source, []byte(s.Version)) {
		return rec, fmt.Errorf("%s does not name version %s: update hack/derive/sets.go", s.Source, s.Version)
	}
	for _, r := range s.Rules {
		matches, err := filepath.Glob(filepath.Join(ref, filepath.FromSlash(s.Dir), filepath.FromSlash(r.Glob)))
		if err != nil {
			return rec, err
		}
		if len(matches) == 0 {
			return rec, fmt.Errorf("%s matches no file", r.Glob)
		}
		sort.Strings(matches)
		var from []origin
		streams := map[string]string{}
		for _, path := range matches {
			data, err := os.ReadFile(path)
			if err != nil {
				return rec, err
			}
			name, err := filepath.Rel(ref, path)
			if err != nil {
				return rec, err
			}
			name = filepath.ToSlash(name)
			o := origin{Path: name, SHA256: sum(data)}
			if r.Kind == "streams" {
				streams[filepath.Base(path)] = string(data)
				from = append(from, o)
				continue
			}
			derived, err := deriveFile(r.Kind, data)
			if err != nil {
				return rec, fmt.Errorf("%s: %w", name, err)
			}
			derived = withHeader(r.Kind, name, derived)
			f, err := record(files, name, r.Kind, derived, []origin{o})
			if err != nil {
				return rec, err
			}
			rec.Files = append(rec.Files, f)
		}
		if r.Kind == "streams" {
			derived, err := deriveStreams(streams)
			if err != nil {
				return rec, err
			}
			derived = withHeader(r.Kind, s.Dir+"/"+r.Glob, derived)
			f, err := record(files, s.Dir+"/"+r.Into, r.Kind, derived, from)
			if err != nil {
				return rec, err
			}
			rec.Files = append(rec.Files, f)
		}
	}
	return rec, nil
}

func deriveFile(kind string, data []byte) ([]byte, error) {
	switch kind {
	case "crd":
		return deriveCRD(data)
	case "documents":
		return deriveDocuments(data)
	case "openapi":
		return deriveOpenAPI(data, openapiRoots)
	case "cassette":
		return deriveCassette(data)
	case "json":
		return deriveJSON(data)
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// withHeader starts a derived YAML file with a comment naming its origin (JSON has no comments).
func withHeader(kind, from string, data []byte) []byte {
	if kind == "json" || kind == "openapi" {
		return data
	}
	h := "# Derived by `make testdata` from " + from + " (provenance and sha256 in testdata/" + ManifestName + "). DO NOT EDIT.\n"
	return append([]byte(h), data...)
}

// record adds a derived file, refusing one that is byte for byte a reference file.
func record(files map[string][]byte, path, kind string, data []byte, from []origin) (fileRecord, error) {
	f := fileRecord{From: from, Kind: kind, Path: path, SHA256: sum(data)}
	for _, o := range from {
		if o.SHA256 == f.SHA256 {
			return f, fmt.Errorf("%s: derived content is identical to %s; the kind %q must change it", path, o.Path, kind)
		}
	}
	if _, dup := files[path]; dup {
		return f, fmt.Errorf("%s derived twice", path)
	}
	if strings.HasPrefix(path, "/") || strings.Contains(path, "..") {
		return f, fmt.Errorf("%s: not a path under testdata/", path)
	}
	files[path] = data
	return f, nil
}
