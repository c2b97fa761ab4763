// Package chartstest serves Helm charts to tests on loopback: a Helm chart repository (an
// index.yaml and chart archives over HTTP) and an OCI registry (the CNCF distribution registry,
// in-process), with charts packaged by the Helm SDK from testdata.
package chartstest

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the registry's storage
	"github.com/sirupsen/logrus"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

//go:embed all:testdata
var testdata embed.FS

// Hello packages the testdata chart "hello" at version as a .tgz, with the Helm SDK as helm
// package does. edit, if not nil, changes the chart first (another name, another values.yaml).
func Hello(t testing.TB, version string, edit func(*chart.Chart)) []byte {
	t.Helper()
	return Package(t, testdata, "testdata/hello", func(ch *chart.Chart) {
		ch.Metadata.Version = version
		if edit != nil {
			edit(ch)
		}
	})
}

// Package packages the chart folder dir of fsys as a .tgz, with the Helm SDK as helm package
// does, at the name and version of its Chart.yaml. edit, if not nil, changes the chart first.
func Package(t testing.TB, fsys fs.FS, dir string, edit func(*chart.Chart)) []byte {
	t.Helper()
	var files []*loader.BufferedFile
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		files = append(files, &loader.BufferedFile{Name: strings.TrimPrefix(p, dir+"/"), Data: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		t.Fatalf("chart %s: %v", dir, err)
	}
	if edit != nil {
		edit(ch)
	}
	out := t.TempDir()
	p, err := chartutil.Save(ch, out)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Repo is a Helm chart repository on loopback: GET /index.yaml and /charts/NAME-VERSION.tgz.
type Repo struct {
	// URL is the repository's URL (http://127.0.0.1:PORT/repo).
	URL string
	// Requests counts every request served.
	Requests atomic.Int64
	srv      *httptest.Server
	mu       sync.Mutex
	index    *repo.IndexFile
	archives map[string][]byte
	// badDigest, when set, is the digest the index gives every chart.
	badDigest string
}

// NewRepo starts an empty repository; it stops with the test (or on Close).
func NewRepo(t testing.TB) *Repo {
	r := &Repo{index: repo.NewIndexFile(), archives: map[string][]byte{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	r.URL = r.srv.URL + "/repo"
	return r
}

// Close stops the server: a later request fails to connect.
func (r *Repo) Close() { r.srv.Close() }

// Add serves a chart archive and lists it in index.yaml with its digest, replacing an
// archive of the same name and version.
func (r *Repo) Add(t testing.TB, archive []byte) {
	t.Helper()
	ch, err := loader.LoadArchive(strings.NewReader(string(archive)))
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	file := ch.Metadata.Name + "-" + ch.Metadata.Version + ".tgz"
	r.archives[file] = archive
	sum := sha256.Sum256(archive)
	var kept repo.ChartVersions
	for _, cv := range r.index.Entries[ch.Metadata.Name] {
		if cv.Version != ch.Metadata.Version {
			kept = append(kept, cv)
		}
	}
	r.index.Entries[ch.Metadata.Name] = kept
	if err := r.index.MustAdd(ch.Metadata, file, "charts", hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	r.index.SortEntries()
}

// BreakDigests makes index.yaml give a wrong digest for every chart.
func (r *Repo) BreakDigests() { r.setDigests(strings.Repeat("0", 64)) }

// DropDigests makes index.yaml give no digests (the field is optional).
func (r *Repo) DropDigests() { r.setDigests("none") }

func (r *Repo) setDigests(d string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.badDigest = d
}

// Swap serves archive at the URL of chart name at version, leaving index.yaml as it is: a
// repository serving something other than what it lists.
func (r *Repo) Swap(name, version string, archive []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.archives[name+"-"+version+".tgz"] = archive
}

func (r *Repo) serve(w http.ResponseWriter, req *http.Request) {
	r.Requests.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch p := strings.TrimPrefix(req.URL.Path, "/repo/"); {
	case p == "index.yaml":
		idx := *r.index
		if r.badDigest != "" {
			idx.Entries = map[string]repo.ChartVersions{}
			for name, cvs := range r.index.Entries {
				for _, cv := range cvs {
					c := *cv
					c.Digest = strings.TrimPrefix(r.badDigest, "none")
					idx.Entries[name] = append(idx.Entries[name], &c)
				}
			}
		}
		b, err := yaml.Marshal(&idx)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(b)
	case strings.HasPrefix(p, "charts/") && r.archives[path.Base(p)] != nil:
		_, _ = w.Write(r.archives[path.Base(p)])
	default:
		http.NotFound(w, req)
	}
}

// Registry is an OCI registry on loopback: the CNCF distribution registry with in-memory
// storage, served over plain HTTP.
type Registry struct {
	// Host is 127.0.0.1:PORT; URL is oci://Host.
	Host, URL string
	// Requests counts every request served.
	Requests atomic.Int64
	srv      *httptest.Server
	client   *registry.Client
}

var quietRegistry sync.Once

// NewRegistry starts an empty registry; it stops with the test (or on Close).
func NewRegistry(t testing.TB) *Registry {
	t.Helper()
	// The registry logs every request through logrus at info level.
	quietRegistry.Do(func() { logrus.SetOutput(io.Discard) })
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	cfg.HTTP.Secret = "chartstest"
	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	r := &Registry{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Requests.Add(1)
		app.ServeHTTP(w, req)
	}))
	t.Cleanup(func() {
		r.srv.Close()
		_ = app.Shutdown()
		cancel()
	})
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	r.URL = "oci://" + r.Host
	c, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptCredentialsFile(CredentialsFile(t)))
	if err != nil {
		t.Fatal(err)
	}
	r.client = c
	return r
}

// Close stops the server: a later request fails to connect.
func (r *Registry) Close() { r.srv.Close() }

// Push pushes a chart archive to repository path (charts → oci://HOST/charts/NAME:VERSION), as
// helm push does.
func (r *Registry) Push(t testing.TB, repoPath string, archive []byte) {
	t.Helper()
	ch, err := loader.LoadArchive(strings.NewReader(string(archive)))
	if err != nil {
		t.Fatal(err)
	}
	ref := r.Host + "/" + repoPath + "/" + ch.Metadata.Name + ":" + strings.ReplaceAll(ch.Metadata.Version, "+", "_")
	if _, err := r.client.Push(archive, ref, registry.PushOptStrictMode(true)); err != nil {
		t.Fatal(err)
	}
}

// CredentialsFile is an empty registry credentials file in a temporary folder, so that tests
// read no credentials from the user's home; DOCKER_CONFIG points there too.
func CredentialsFile(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	p := filepath.Join(dir, "registry.json")
	if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
