package charts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/infergw/gwctl/pkg/atomicfile"
)

// PullOptions say where charts go and how to reach registries.
type PullOptions struct {
	Store *Store
	// PlainHTTP talks to OCI registries over http:// (helm's --plain-http), for a registry on
	// the local machine.
	PlainHTTP bool
	// RegistryConfig is the credentials file of OCI registries (helm registry login's); "" is
	// Helm's default.
	RegistryConfig string
	// Timeout bounds each request; 0 is two minutes.
	Timeout time.Duration
	// Log gets one line per chart (pulled or already cached); nil for none.
	Log io.Writer
}

// PullResult is what a pull did.
type PullResult struct {
	Lock *Lock
	// Pulled are the charts fetched, Cached those already in the cache with the locked digest.
	Pulled, Cached []Ref
	// Wrote says whether the lock file changed.
	Wrote bool
}

// MaxArchiveBytes and MaxIndexBytes bound what a pull accepts from a repository.
const (
	MaxArchiveBytes = 50 << 20
	MaxIndexBytes   = 100 << 20
)

// Pull fetches every chart in refs that is not in the cache with its locked digest, checks
// each archive (the repository's digest, the chart's name and version, the locked digest) and
// writes the lock file with exactly refs. A pinned version whose content changed upstream is an
// error, never a silent update. Charts are fetched one at a time, in sorted order.
func Pull(ctx context.Context, refs []Ref, o PullOptions) (*PullResult, error) {
	old, err := o.Store.Lock()
	if errors.Is(err, fs.ErrNotExist) {
		if len(refs) == 0 {
			// Nothing to lock: a repo without remote charts gets no lock file.
			return &PullResult{Lock: &Lock{}}, nil
		}
		old, err = &Lock{}, nil
	}
	if err != nil {
		return nil, err
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	f := &fetcher{opts: o}
	res := &PullResult{Lock: &Lock{}}
	var errs []error
	for _, ref := range unique(refs) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		locked, isLocked := old.Find(ref)
		p := o.Store.Path(ref)
		if data, err := os.ReadFile(p); err == nil && isLocked && Digest(data) == locked.Digest {
			res.Lock.Charts = append(res.Lock.Charts, locked)
			res.Cached = append(res.Cached, ref)
			o.logf("cached %s %s\n", ref, locked.Digest)
			continue
		}
		data, err := f.fetch(ctx, ref)
		if err == nil {
			err = verify(ref, data)
		}
		d := Digest(data)
		if err == nil && isLocked && d != locked.Digest {
			err = fmt.Errorf("chart %s: the repository serves %s, %s locks %s: a pinned version changed upstream; if that is expected, delete its entry from %s and pull again",
				ref, d, o.Store.LockFile, locked.Digest, o.Store.LockFile)
		}
		if err == nil {
			err = writeArchive(p, data)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		res.Lock.Charts = append(res.Lock.Charts, Entry{Ref: ref, Digest: d})
		res.Pulled = append(res.Pulled, ref)
		o.logf("pulled %s %s\n", ref, d)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if res.Wrote, err = WriteLock(o.Store.LockFile, res.Lock); err != nil {
		return nil, err
	}
	return res, nil
}

func (o PullOptions) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format, args...)
	}
}

func unique(refs []Ref) []Ref {
	seen := map[Ref]bool{}
	var out []Ref
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	return out
}

func writeArchive(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(p, data, 0o644)
}

// verify checks that an archive is the chart asked for: it loads as a chart (Helm's own size
// limits) and its Chart.yaml names the same chart and version.
func verify(ref Ref, data []byte) error {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("chart %s: the archive is not a chart: %w", ref, err)
	}
	if ch.Metadata.Name != ref.Chart || ch.Metadata.Version != ref.Version {
		return fmt.Errorf("chart %s: the archive holds chart %s %s", ref, ch.Metadata.Name, ch.Metadata.Version)
	}
	return nil
}

type fetcher struct {
	opts PullOptions
	reg  *registry.Client
}

func (f *fetcher) fetch(ctx context.Context, ref Ref) ([]byte, error) {
	if ref.OCI() {
		return f.fetchOCI(ref)
	}
	return f.fetchRepo(ref)
}

// fetchRepo reads the repository's index.yaml, finds the exact version and downloads its
// archive, checking the index's digest when the index gives one.
func (f *fetcher) fetchRepo(ref Ref) ([]byte, error) {
	g, err := getter.NewHTTPGetter(getter.WithURL(ref.Repo), getter.WithTimeout(f.opts.Timeout), getter.WithUserAgent("gwctl"))
	if err != nil {
		return nil, err
	}
	indexURL := ref.Repo + "/index.yaml"
	buf, err := g.Get(indexURL)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ref, err)
	}
	if buf.Len() > MaxIndexBytes {
		return nil, fmt.Errorf("chart %s: %s is %d bytes, over the limit of %d", ref, indexURL, buf.Len(), MaxIndexBytes)
	}
	idx := &repo.IndexFile{}
	if err := yaml.Unmarshal(buf.Bytes(), idx); err != nil {
		return nil, fmt.Errorf("chart %s: %s: %w", ref, indexURL, err)
	}
	versions := idx.Entries[ref.Chart]
	if len(versions) == 0 {
		return nil, fmt.Errorf("chart %s: %s has no chart %q", ref, indexURL, ref.Chart)
	}
	var cv *repo.ChartVersion
	var have []string
	for _, v := range versions {
		if v == nil || v.Metadata == nil {
			continue
		}
		if v.Version == ref.Version {
			cv = v
		}
		have = append(have, v.Version)
	}
	if cv == nil {
		return nil, fmt.Errorf("chart %s: version %s not found in %s (it has %s)", ref, ref.Version, indexURL, listVersions(have))
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("chart %s: %s gives no URL for it", ref, indexURL)
	}
	archiveURL, err := repo.ResolveReferenceURL(ref.Repo, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ref, err)
	}
	if u, err := url.Parse(archiveURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("chart %s: %s gives %q: only http and https URLs are fetched", ref, indexURL, archiveURL)
	}
	buf, err = g.Get(archiveURL)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ref, err)
	}
	if buf.Len() > MaxArchiveBytes {
		return nil, fmt.Errorf("chart %s: %s is %d bytes, over the limit of %d", ref, archiveURL, buf.Len(), MaxArchiveBytes)
	}
	data := buf.Bytes()
	if cv.Digest != "" && "sha256:"+strings.TrimPrefix(cv.Digest, "sha256:") != Digest(data) {
		return nil, fmt.Errorf("chart %s: %s has digest %s, %s says sha256:%s", ref, archiveURL, Digest(data), indexURL, strings.TrimPrefix(cv.Digest, "sha256:"))
	}
	return data, nil
}

// fetchOCI pulls the chart layer through Helm's registry client, which checks every blob
// against its digest; the tag is the version with + written _ (as helm push writes it).
func (f *fetcher) fetchOCI(ref Ref) ([]byte, error) {
	if f.reg == nil {
		opts := []registry.ClientOption{registry.ClientOptHTTPClient(&http.Client{Timeout: f.opts.Timeout})}
		if f.opts.PlainHTTP {
			opts = append(opts, registry.ClientOptPlainHTTP())
		}
		if f.opts.RegistryConfig != "" {
			opts = append(opts, registry.ClientOptCredentialsFile(f.opts.RegistryConfig))
		}
		c, err := registry.NewClient(opts...)
		if err != nil {
			return nil, fmt.Errorf("chart %s: registry client: %w", ref, err)
		}
		f.reg = c
	}
	base := strings.TrimPrefix(ref.Repo, "oci://") + "/" + ref.Chart
	res, err := f.reg.Pull(base+":"+strings.ReplaceAll(ref.Version, "+", "_"), registry.PullOptWithChart(true))
	if err != nil {
		if tags, terr := f.reg.Tags(base); terr == nil && !contains(tags, strings.TrimPrefix(ref.Version, "v")) {
			return nil, fmt.Errorf("chart %s: version %s not found in %s (it has %s)", ref, ref.Version, ref.Repo+"/"+ref.Chart, listVersions(tags))
		}
		return nil, fmt.Errorf("chart %s: %w", ref, err)
	}
	data := res.Chart.Data
	if int64(len(data)) > MaxArchiveBytes {
		return nil, fmt.Errorf("chart %s: the chart layer is %d bytes, over the limit of %d", ref, len(data), MaxArchiveBytes)
	}
	if Digest(data) != res.Chart.Digest {
		return nil, fmt.Errorf("chart %s: the chart layer has digest %s, the manifest says %s", ref, Digest(data), res.Chart.Digest)
	}
	return data, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// listVersions names at most ten versions, as the repository lists them, for a message.
func listVersions(v []string) string {
	if len(v) == 0 {
		return "no versions"
	}
	if len(v) > 10 {
		return strings.Join(v[:10], ", ") + fmt.Sprintf(" and %d more", len(v)-10)
	}
	return strings.Join(v, ", ")
}
