package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/infergw/gwctl/pkg/platform"
)

// Paths inside the image.
const (
	BinaryPath = "/usr/local/bin/dataplane"
	SBOMPath   = "/usr/share/doc/dataplane/sbom.spdx.json"
	CAPath     = "/etc/ssl/certs/ca-certificates.crt"
	// User is the non-root user and group the dataplane runs as (distroless' nonroot).
	User = "65532:65532"
)

// Options say what to build and where.
type Options struct {
	Out, Version, Commit, CAFile, Source string
	Archs                                []string
	Created                              time.Time
	// Root is the module root (default: found from the working directory).
	Root string
	// NoTrimpath keeps build paths in the binary (tests reuse the build cache of go test);
	// releases trim them, for reproducible images.
	NoTrimpath bool
}

// Labels are the OCI annotations every image config carries.
func (o Options) Labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "dataplane",
		"org.opencontainers.image.description": "gwctl's inference gateway dataplane (Gateway API, agentgateway, InferencePool)",
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.url":         o.Source,
		"org.opencontainers.image.version":     platform.ImageTag(o.Version),
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.vendor":      "infergw",
		"org.opencontainers.image.created":     o.Created.Format(time.RFC3339),
	}
	if o.Commit != "" {
		l["org.opencontainers.image.revision"] = o.Commit
	}
	return l
}

// Build compiles the dataplane for every arch, assembles one image per arch and writes their
// index to an OCI layout at o.Out, tagged with the version. It returns the index digest.
func Build(ctx context.Context, o Options) (v1.Hash, error) {
	if o.Root == "" {
		root, err := moduleRoot()
		if err != nil {
			return v1.Hash{}, err
		}
		o.Root = root
	}
	ca, err := os.ReadFile(o.CAFile)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("CA certificates: %w (install ca-certificates or pass -ca-file)", err)
	}
	tmp, err := os.MkdirTemp("", "dataplane-image-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer os.RemoveAll(tmp)

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range o.Archs {
		bin := filepath.Join(tmp, "dataplane-"+arch)
		if err := compile(ctx, o, arch, bin); err != nil {
			return v1.Hash{}, err
		}
		img, err := archImage(o, arch, bin, ca)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("linux/%s: %w", arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	idx = mutate.Annotations(idx, o.Labels()).(v1.ImageIndex)
	if err := os.RemoveAll(o.Out); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(o.Out, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	tag := platform.ImageTag(o.Version)
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
		"io.containerd.image.name":          platform.ImageRepository + ":" + tag,
	})); err != nil {
		return v1.Hash{}, err
	}
	return idx.Digest()
}

// compile builds a static linux binary with the version stamped as the Makefile does.
func compile(ctx context.Context, o Options, arch, out string) error {
	pkg := "github.com/infergw/gwctl/pkg/version"
	ldflags := fmt.Sprintf("-s -w -X %s.Version=%s -X %s.Commit=%s -X %s.Date=%s",
		pkg, o.Version, pkg, o.Commit, pkg, o.Created.Format(time.RFC3339))
	args := []string{"build", "-trimpath", "-ldflags", ldflags, "-o", out, "./cmd/dataplane"}
	if o.NoTrimpath {
		args = append(args[:1], args[2:]...)
	}
	cmd := exec.CommandContext(ctx, goBin(), args...)
	cmd.Dir = o.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build linux/%s: %w\n%s", arch, err, stderr.String())
	}
	return nil
}

// goBin is $GO (the Makefile's), else go from PATH.
func goBin() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// archImage is one platform's image: a base layer (CA certificates, passwd and group naming
// the nonroot user, an empty /tmp), the binary, and the SBOM. Nothing else: no shell, no
// package manager.
func archImage(o Options, arch, bin string, ca []byte) (v1.Image, error) {
	binary, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	sbom, err := SBOM(bin, arch, o)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	base, err := tarLayer(o.Created, []entry{
		{name: "etc/", dir: true, mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/ssl/", dir: true, mode: 0o755},
		{name: "etc/ssl/certs/", dir: true, mode: 0o755},
		{name: CAPath[1:], mode: 0o644, data: ca},
		{name: "home/", dir: true, mode: 0o755},
		{name: "home/nonroot/", dir: true, mode: 0o700, uid: 65532},
		{name: "tmp/", dir: true, mode: 0o1777},
	})
	if err != nil {
		return nil, err
	}
	binLayer, err := tarLayer(o.Created, []entry{
		{name: "usr/", dir: true, mode: 0o755},
		{name: "usr/local/", dir: true, mode: 0o755},
		{name: "usr/local/bin/", dir: true, mode: 0o755},
		{name: BinaryPath[1:], mode: 0o755, data: binary},
	})
	if err != nil {
		return nil, err
	}
	sbomLayer, err := tarLayer(o.Created, []entry{
		{name: "usr/", dir: true, mode: 0o755},
		{name: "usr/share/", dir: true, mode: 0o755},
		{name: "usr/share/doc/", dir: true, mode: 0o755},
		{name: "usr/share/doc/dataplane/", dir: true, mode: 0o755},
		{name: SBOMPath[1:], mode: 0o644, data: sbom},
	})
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: history(o, "CA certificates, nonroot user 65532")},
		mutate.Addendum{Layer: binLayer, History: history(o, "dataplane "+o.Version+" (static, CGO_ENABLED=0)")},
		mutate.Addendum{Layer: sbomLayer, History: history(o, "SPDX 2.3 SBOM at "+SBOMPath),
			Annotations: map[string]string{"org.opencontainers.image.title": "sbom.spdx.json", "dev.infergw.sbom.format": "spdx+json"}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = nil
	cf.Config.User = User
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + CAPath}
	cf.Config.Labels = o.Labels()
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "9901/tcp": {}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, o.Labels()).(v1.Image), nil
}

func history(o Options, what string) v1.History {
	return v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "hack/image: " + what}
}

type entry struct {
	name string
	dir  bool
	mode int64
	uid  int
	data []byte
}

// tarLayer is an OCI gzip layer of entries with fixed times and owners, so that the same inputs
// give the same digest.
func tarLayer(mtime time.Time, entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: mtime, Uid: e.uid, Gid: e.uid, Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
