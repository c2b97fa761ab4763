// Command schemas derives the CRD schemas gwctl embeds (schemas/) from upstream releases' published
// CRDs, keeping the facts of each and dropping the prose.
package main

// Sources
//
// Gateway API from the module go.mod pins, the others from the reference folder or from a Go
// module's zip at a fixed version (downloaded into the module cache, never added to go.mod). Each
// file keeps the facts of its CRD (structure, types, formats, enums, patterns, bounds, list types,
// defaults, x-kubernetes-*, CEL rules and their messages) and drops the prose; schemas/SOURCE.yaml
// records the upstream, version and sha256 of each. Run from the repository root:
//
//	go run ./hack/schemas -ref DIR [-ref-name NAME] [-out schemas]

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	// Importing the API keeps the module, at the version the project pins, in go.mod: the
	// Gateway API CRDs come from that version's zip.
	_ "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/infergw/gwctl/hack/derivation"
	"github.com/infergw/gwctl/schemas"
)

func main() {
	ref := flag.String("ref", "", "the reference folder (required)")
	refName := flag.String("ref-name", "", "how SOURCE.yaml names the reference folder, relative to the repository root (default: -ref, made relative)")
	out := flag.String("out", "schemas", "directory to write to")
	flag.Parse()
	if *ref == "" {
		fmt.Fprintln(os.Stderr, "usage: schemas -ref DIR [-ref-name NAME] [-out schemas]")
		os.Exit(2)
	}
	if err := run(*ref, *refName, *out); err != nil {
		fmt.Fprintln(os.Stderr, "schemas:", err)
		os.Exit(1)
	}
}

func run(ref, refName, out string) error {
	if refName == "" {
		refName = ref
		if filepath.IsAbs(ref) {
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			if refName, err = filepath.Rel(wd, ref); err != nil {
				return err
			}
		}
	}
	files, _, err := derive(locator{ref: ref}, filepath.ToSlash(refName))
	if err != nil {
		return err
	}
	// Everything derived is replaced: a set dropped from sources leaves no file behind.
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".yaml") {
			if err := os.RemoveAll(filepath.Join(out, e.Name())); err != nil {
				return err
			}
		}
	}
	total, err := derivation.WriteFiles(out, files)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %d files (%d bytes) to %s (%s)\n", len(files), total, out, schemas.ManifestName)
	return nil
}
