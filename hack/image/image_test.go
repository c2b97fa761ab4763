package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Issue #19: the release's image is multi-arch, runs a static binary as 65532 without a shell,
// carries CA certificates, OCI labels and an SBOM, and the binary in its layer runs.
func TestImage(t *testing.T) {
	if os.Getenv("GWCTL_IMAGE_TEST") == "" {
		t.Skip("builds the dataplane for two architectures (minutes): run by make image-check (GWCTL_IMAGE_TEST=1)")
	}
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err != nil {
		t.Skip("no CA bundle on this machine")
	}
	out := filepath.Join(t.TempDir(), "image")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	o := Options{Out: out, Version: "v0.0.0-test", Commit: "abc1234", CAFile: "/etc/ssl/certs/ca-certificates.crt",
		Source: "https://github.com/infergw/gwctl", Archs: []string{"amd64", "arm64"}, Created: time.Unix(1700000000, 0).UTC(), NoTrimpath: true}
	digest, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].Digest != digest ||
		tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "0.0.0-test" {
		t.Fatalf("layout index.json = %+v, want one index %s tagged 0.0.0-test", tm.Manifests, digest)
	}
	idx, err := top.ImageIndex(digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	archs := map[string]v1.Hash{}
	for _, d := range im.Manifests {
		if d.Platform == nil || d.Platform.OS != "linux" {
			t.Fatalf("manifest %s has platform %+v", d.Digest, d.Platform)
		}
		archs[d.Platform.Architecture] = d.Digest
	}
	if len(archs) != 2 || archs["amd64"] == (v1.Hash{}) || archs["arm64"] == (v1.Hash{}) {
		t.Fatalf("architectures = %v, want amd64 and arm64", archs)
	}
	for arch, d := range archs {
		img, err := idx.Image(d)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != arch || cf.OS != "linux" {
			t.Errorf("%s: config platform %s/%s", arch, cf.OS, cf.Architecture)
		}
		c := cf.Config
		if len(c.Entrypoint) != 1 || c.Entrypoint[0] != BinaryPath || c.User != "65532:65532" {
			t.Errorf("%s: entrypoint %v user %q, want [%s] 65532:65532", arch, c.Entrypoint, c.User, BinaryPath)
		}
		for _, k := range []string{"title", "source", "version", "revision", "licenses", "created"} {
			if c.Labels["org.opencontainers.image."+k] == "" {
				t.Errorf("%s: label org.opencontainers.image.%s missing: %v", arch, k, c.Labels)
			}
		}
		if v := c.Labels["org.opencontainers.image.version"]; v != "0.0.0-test" {
			t.Errorf("%s: version label %q", arch, v)
		}
		files := flatten(t, img)
		for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
			if _, ok := files[shell]; ok {
				t.Errorf("%s: the image has a shell: /%s", arch, shell)
			}
		}
		if ca := files[CAPath[1:]]; !bytes.Contains(ca.data, []byte("BEGIN CERTIFICATE")) {
			t.Errorf("%s: no CA certificates at %s", arch, CAPath)
		}
		if pw := files["etc/passwd"]; !bytes.Contains(pw.data, []byte(":65532:65532:")) {
			t.Errorf("%s: /etc/passwd does not name 65532", arch)
		}
		var sbom spdxDoc
		if err := json.Unmarshal(files[SBOMPath[1:]].data, &sbom); err != nil || sbom.SPDXVersion != "SPDX-2.3" {
			t.Errorf("%s: SBOM at %s: %v %q", arch, SBOMPath, err, sbom.SPDXVersion)
		} else if !hasPackage(sbom, "k8s.io/client-go") && !hasPackage(sbom, "github.com/prometheus/client_golang") {
			t.Errorf("%s: SBOM lists %d packages but not the dependencies", arch, len(sbom.Packages))
		}
		bin := files[BinaryPath[1:]]
		if bin.mode&0o111 == 0 {
			t.Errorf("%s: %s is not executable (%o)", arch, BinaryPath, bin.mode)
		}
		checkStatic(t, arch, bin.data)
		if arch == "amd64" && runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
			runBinary(t, bin.data)
		}
	}
}

type file struct {
	mode int64
	data []byte
}

// flatten applies the image's layers in order, as a container runtime would.
func flatten(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]file{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
				out[strings.TrimPrefix(h.Name, "./")] = file{mode: h.Mode, data: []byte("-> " + h.Linkname)}
				continue
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimPrefix(h.Name, "./")] = file{mode: h.Mode, data: data}
		}
		rc.Close()
	}
	return out
}

func hasPackage(d spdxDoc, name string) bool {
	for _, p := range d.Packages {
		if p.Name == name {
			return true
		}
	}
	return false
}

// checkStatic: no program interpreter, so the binary needs no libc in the image.
func checkStatic(t *testing.T, arch string, data []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: not an ELF binary: %v", arch, err)
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		t.Errorf("%s: ELF machine %v, want %v", arch, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked (has PT_INTERP)", arch)
		}
	}
}

// runBinary runs the binary taken from the layer: it prints its usage and exits 0 on -h.
func runBinary(t *testing.T, data []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dataplane")
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p, "-h")
	cmd.Env = []string{} // as in the image: no HOME, no PATH the binary relies on
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Usage: dataplane") || !strings.Contains(string(out), "-controller-name") {
		t.Fatalf("dataplane -h from the image layer: %v\n%s", err, out)
	}
}
