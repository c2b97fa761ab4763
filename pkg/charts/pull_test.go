package charts_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"

	"github.com/infergw/gwctl/pkg/charts"
	"github.com/infergw/gwctl/pkg/charts/chartstest"
)

// servers is a loopback Helm repository with hello 0.1.0 and 0.2.0 and a loopback OCI registry
// with hello 0.1.0 under charts/.
type servers struct {
	repo          *chartstest.Repo
	reg           *chartstest.Registry
	a010, a020    []byte // the repository's archives
	oci010        []byte // the registry's
	fromRepo, oci charts.Ref
}

func start(t *testing.T) *servers {
	t.Helper()
	s := &servers{repo: chartstest.NewRepo(t), reg: chartstest.NewRegistry(t)}
	s.a010 = chartstest.Hello(t, "0.1.0", nil)
	s.a020 = chartstest.Hello(t, "0.2.0", nil)
	s.oci010 = chartstest.Hello(t, "0.1.0", func(c *chart.Chart) { c.Metadata.Description = "from the registry" })
	s.repo.Add(t, s.a010)
	s.repo.Add(t, s.a020)
	s.reg.Push(t, "charts", s.oci010)
	s.fromRepo = mustRef(t, s.repo.URL, "hello", "0.2.0")
	s.oci = mustRef(t, "", s.reg.URL+"/charts/hello", "0.1.0")
	return s
}

func mustRef(t *testing.T, repo, chart, version string) charts.Ref {
	t.Helper()
	r, err := charts.ParseRef(repo, chart, version)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newStore(t *testing.T) *charts.Store {
	dir := t.TempDir()
	return charts.NewStore(filepath.Join(dir, ".gwctl", "charts"), filepath.Join(dir, "gwctl.lock"))
}

func pull(t *testing.T, st *charts.Store, refs ...charts.Ref) (*charts.PullResult, error) {
	t.Helper()
	// A fresh store each time: the lock is read once per store.
	st = charts.NewStore(st.Dir, st.LockFile)
	return charts.Pull(context.Background(), refs, charts.PullOptions{
		Store: st, PlainHTTP: true, RegistryConfig: chartstest.CredentialsFile(t),
	})
}

func TestPullFromRepositoryAndRegistry(t *testing.T) {
	s := start(t)
	st := newStore(t)
	res, err := pull(t, st, s.oci, s.fromRepo, s.oci)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pulled) != 2 || len(res.Cached) != 0 || !res.Wrote {
		t.Fatalf("first pull: pulled %v cached %v wrote %v", res.Pulled, res.Cached, res.Wrote)
	}
	lock, err := os.ReadFile(st.LockFile)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by repo: http://127.0.0.1… before oci://127.0.0.1….
	want := "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Lock\ncharts:\n" +
		"  - repo: " + s.repo.URL + "\n    chart: hello\n    version: 0.2.0\n    digest: " + charts.Digest(s.a020) + "\n" +
		"  - repo: " + s.reg.URL + "/charts\n    chart: hello\n    version: 0.1.0\n    digest: " + charts.Digest(s.oci010) + "\n"
	if body := string(lock[bytes.Index(lock, []byte("apiVersion")):]); body != want {
		t.Fatalf("lock:\n%s\nwant:\n%s", body, want)
	}
	if !strings.HasPrefix(string(lock), "# Written by gwctl charts pull") {
		t.Fatalf("lock header: %q", lock[:40])
	}
	for ref, archive := range map[charts.Ref][]byte{s.fromRepo: s.a020, s.oci: s.oci010} {
		got, err := st.Archive(ref)
		if err != nil || !bytes.Equal(got, archive) {
			t.Fatalf("cache of %s: %v (same bytes: %v)", ref, err, bytes.Equal(got, archive))
		}
	}
	if p := st.Path(s.oci); !strings.HasSuffix(filepath.ToSlash(p), "/.gwctl/charts/oci/"+strings.ReplaceAll(s.reg.Host, ":", "_")+"/charts/hello-0.1.0.tgz") {
		t.Fatalf("cache path %s", p)
	}

	// Pulling again fetches nothing and leaves the lock as it was, byte for byte.
	before := s.repo.Requests.Load() + s.reg.Requests.Load()
	info, _ := os.Stat(st.LockFile)
	res, err = pull(t, st, s.fromRepo, s.oci)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pulled) != 0 || len(res.Cached) != 2 || res.Wrote {
		t.Fatalf("second pull: pulled %v cached %v wrote %v", res.Pulled, res.Cached, res.Wrote)
	}
	if n := s.repo.Requests.Load() + s.reg.Requests.Load(); n != before {
		t.Fatalf("second pull made %d requests", n-before)
	}
	again, _ := os.ReadFile(st.LockFile)
	info2, _ := os.Stat(st.LockFile)
	if !bytes.Equal(again, lock) || !info2.ModTime().Equal(info.ModTime()) {
		t.Fatal("second pull rewrote the lock")
	}

	// A cached archive that differs from the lock is fetched again.
	if err := os.WriteFile(st.Path(s.oci), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = pull(t, st, s.fromRepo, s.oci)
	if err != nil || len(res.Pulled) != 1 || res.Pulled[0] != s.oci || res.Wrote {
		t.Fatalf("pull over a tampered cache: %+v %v", res, err)
	}
	if got, err := charts.NewStore(st.Dir, st.LockFile).Archive(s.oci); err != nil || !bytes.Equal(got, s.oci010) {
		t.Fatalf("cache after the repair: %v", err)
	}

	// A chart no longer used leaves the lock.
	if _, err := pull(t, st, s.oci); err != nil {
		t.Fatal(err)
	}
	l, err := charts.ReadLock(st.LockFile)
	if err != nil || len(l.Charts) != 1 || l.Charts[0].Ref != s.oci {
		t.Fatalf("lock after dropping a chart: %+v %v", l, err)
	}
}

func TestPullErrors(t *testing.T) {
	s := start(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, st *charts.Store)
		ref   func() charts.Ref
		want  []string
	}{
		{"version not in the repository", nil, func() charts.Ref { return mustRef(t, s.repo.URL, "hello", "9.9.9") },
			[]string{"hello 9.9.9 from " + s.repo.URL + ": version 9.9.9 not found in " + s.repo.URL + "/index.yaml (it has 0.2.0, 0.1.0)"}},
		{"version not in the registry", nil, func() charts.Ref { return mustRef(t, s.reg.URL+"/charts", "hello", "9.9.9") },
			[]string{s.reg.URL + "/charts/hello:9.9.9: version 9.9.9 not found in " + s.reg.URL + "/charts/hello (it has 0.1.0)"}},
		{"chart not in the repository", nil, func() charts.Ref { return mustRef(t, s.repo.URL, "nope", "1.0.0") },
			[]string{`index.yaml has no chart "nope"`}},
		{"repository unreachable", nil, func() charts.Ref { return mustRef(t, "http://127.0.0.1:1/repo", "hello", "0.1.0") },
			[]string{"hello 0.1.0 from http://127.0.0.1:1/repo:", "connect"}},
		{"archive differs from the locked digest", func(t *testing.T, st *charts.Store) {
			other := &charts.Lock{Charts: []charts.Entry{{Ref: mustRef(t, s.repo.URL, "hello", "0.1.0"), Digest: charts.Digest([]byte("before"))}}}
			if _, err := charts.WriteLock(st.LockFile, other); err != nil {
				t.Fatal(err)
			}
		}, func() charts.Ref { return mustRef(t, s.repo.URL, "hello", "0.1.0") },
			[]string{"the repository serves " + charts.Digest(s.a010), "locks " + charts.Digest([]byte("before")), "a pinned version changed upstream", "delete its entry"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			if tc.setup != nil {
				tc.setup(t, st)
			}
			before, _ := os.ReadFile(st.LockFile)
			_, err := pull(t, st, tc.ref())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if after, _ := os.ReadFile(st.LockFile); !bytes.Equal(before, after) {
				t.Error("a failed pull changed the lock")
			}
		})
	}
}

func TestPullRefusesABadArchive(t *testing.T) {
	repo := chartstest.NewRepo(t)
	repo.Add(t, chartstest.Hello(t, "1.0.0", func(c *chart.Chart) { c.Metadata.Name = "other" }))
	ref := mustRef(t, repo.URL, "other", "1.0.0")
	if _, err := pull(t, newStore(t), ref); err != nil {
		t.Fatalf("a well-formed chart: %v", err)
	}
	repo.BreakDigests()
	_, err := pull(t, newStore(t), ref)
	if err == nil || !strings.Contains(err.Error(), "index.yaml says sha256:0000") {
		t.Fatalf("index digest mismatch: %v", err)
	}
	// Without a digest in the index, the archive itself must be the chart asked for.
	repo.DropDigests()
	repo.Swap("other", "1.0.0", chartstest.Hello(t, "1.0.0", nil))
	_, err = pull(t, newStore(t), ref)
	if err == nil || !strings.Contains(err.Error(), "the archive holds chart hello 1.0.0") {
		t.Fatalf("archive of another chart: %v", err)
	}
	repo.Swap("other", "1.0.0", []byte("not a tgz"))
	_, err = pull(t, newStore(t), ref)
	if err == nil || !strings.Contains(err.Error(), "the archive is not a chart") {
		t.Fatalf("not an archive: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	cases := []struct {
		repo, chart, version string
		want                 string // Ref as repo|chart|version, or the error
	}{
		{"https://charts.example.com/stable/", "podinfo", "6.5.0", "https://charts.example.com/stable|podinfo|6.5.0"},
		{"oci://ghcr.io/org/charts", "podinfo", "v1.2.3-rc.1+b.7", "oci://ghcr.io/org/charts|podinfo|v1.2.3-rc.1+b.7"},
		{"", "oci://ghcr.io/org/charts/podinfo", "6.5.0", "oci://ghcr.io/org/charts|podinfo|6.5.0"},
		{"https://x.example.com", "oci://ghcr.io/org/podinfo", "6.5.0", "chart: an oci:// reference carries its registry"},
		{"", "oci://ghcr.io/org/podinfo:6.5.0", "6.5.0", "chart: give the version in version:"},
		{"", "podinfo", "6.5.0", "repo: a remote chart needs repo:"},
		{"git://example.com/charts", "podinfo", "6.5.0", `repo: scheme "git"`},
		{"https://user:pw@example.com", "podinfo", "6.5.0", `repo: "https://user:pw@example.com" is not a repository URL`},
		{"https://example.com/../x", "podinfo", "6.5.0", `repo: "https://example.com/../x": . and .. are not allowed`},
		{"https://example.com", "../podinfo", "6.5.0", `chart: "../podinfo" is not a chart name`},
		{"https://example.com", "podinfo", "", "version: a remote chart needs an exact version"},
		{"https://example.com", "podinfo", "^6.5.0", `version: "^6.5.0" is not an exact version`},
		{"https://example.com", "podinfo", "6.5", `version: "6.5" is not an exact version`},
		{"https://example.com", "podinfo", "6.x", `version: "6.x" is not an exact version`},
		{"https://example.com", "podinfo", ">=1.0.0 <2.0.0", "is not an exact version"},
	}
	for _, tc := range cases {
		r, err := charts.ParseRef(tc.repo, tc.chart, tc.version)
		got := r.Repo + "|" + r.Chart + "|" + r.Version
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, tc.want) && !strings.Contains(got, tc.want) {
			t.Errorf("ParseRef(%q, %q, %q) = %s, want %s", tc.repo, tc.chart, tc.version, got, tc.want)
		}
	}
}

func TestParseLock(t *testing.T) {
	const head = "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Lock\ncharts:\n"
	d := charts.Digest(nil)
	cases := []struct{ name, text, want string }{
		{"unknown key", head + "- {repo: https://a.example.com, chart: a, version: 1.0.0, digest: " + d + ", url: x}\n", "gwctl.lock:4:"},
		{"bad digest", head + "- repo: https://a.example.com\n  chart: a\n  version: 1.0.0\n  digest: md5:abc\n", "gwctl.lock:7:11: charts[0].digest"},
		{"range", head + "- repo: https://a.example.com\n  chart: a\n  version: ~1.0.0\n  digest: " + d + "\n", "gwctl.lock:6:12: charts[0].version: \"~1.0.0\" is not an exact version"},
		{"twice", head + "- {repo: https://a.example.com, chart: a, version: 1.0.0, digest: " + d + "}\n- {repo: https://a.example.com/, chart: a, version: 1.0.0, digest: " + d + "}\n", "gwctl.lock:5:3: charts[1]: listed twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 {
				_, err := charts.ParseLock("gwctl.lock", []byte(tc.text))
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
			}
		})
	}
	// What Marshal writes, ParseLock reads back, whatever the order given.
	a := charts.Entry{Ref: mustRef(t, "oci://r.example.com/c", "a", "1.0.0"), Digest: d}
	b := charts.Entry{Ref: mustRef(t, "https://b.example.com", "b", "2.0.0"), Digest: d}
	one, two := (&charts.Lock{Charts: []charts.Entry{a, b}}).Marshal(), (&charts.Lock{Charts: []charts.Entry{b, a}}).Marshal()
	l, err := charts.ParseLock("gwctl.lock", one)
	if !bytes.Equal(one, two) || err != nil || len(l.Charts) != 2 || l.Charts[0] != b || l.Charts[1] != a {
		t.Fatalf("round trip: %v %+v\n%s", err, l, one)
	}
}

func TestStoreArchiveErrors(t *testing.T) {
	ref := mustRef(t, "https://charts.example.com/stable", "hello", "0.1.0")
	archive := []byte("archive")
	cases := []struct {
		name  string
		setup func(t *testing.T, st *charts.Store)
		want  string
	}{
		{"no lock file", func(*testing.T, *charts.Store) {}, "chart hello 0.1.0 from https://charts.example.com/stable: no lock file "},
		{"not locked", func(t *testing.T, st *charts.Store) {
			writeLock(t, st, charts.Entry{Ref: mustRef(t, "https://charts.example.com/stable", "hello", "0.2.0"), Digest: charts.Digest(archive)})
		}, "chart hello 0.1.0 from https://charts.example.com/stable is not in "},
		{"not cached", func(t *testing.T, st *charts.Store) {
			writeLock(t, st, charts.Entry{Ref: ref, Digest: charts.Digest(archive)})
		}, "is not in the chart cache ("},
		{"digest differs", func(t *testing.T, st *charts.Store) {
			writeLock(t, st, charts.Entry{Ref: ref, Digest: charts.Digest(archive)})
			writeFile(t, st.Path(ref), []byte("tampered"))
		}, "has digest " + charts.Digest([]byte("tampered")) + ", "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			tc.setup(t, st)
			_, err := charts.NewStore(st.Dir, st.LockFile).Archive(ref)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "run gwctl charts pull") {
				t.Fatalf("error %v, want %q and the command to run", err, tc.want)
			}
		})
	}
}

func writeLock(t *testing.T, st *charts.Store, entries ...charts.Entry) {
	t.Helper()
	if _, err := charts.WriteLock(st.LockFile, &charts.Lock{Charts: entries}); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPullWithoutRemoteCharts(t *testing.T) {
	st := newStore(t)
	if res, err := pull(t, st); err != nil || res.Wrote {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(st.LockFile); !os.IsNotExist(err) {
		t.Fatalf("a pull of no charts wrote %s", st.LockFile)
	}
}

func TestCheck(t *testing.T) {
	a := mustRef(t, "https://charts.example.com", "a", "1.0.0")
	b := mustRef(t, "oci://registry.example.com/charts", "b", "2.0.0")
	st := newStore(t)
	if diff, err := charts.Check(nil, st); err != nil || len(diff) != 0 {
		t.Fatalf("no charts, no lock: %v %v", diff, err)
	}
	if diff, _ := charts.Check([]charts.Ref{a}, st); len(diff) != 1 || !strings.HasSuffix(diff[0], "gwctl.lock does not exist") {
		t.Fatalf("no lock: %v", diff)
	}
	writeLock(t, st, charts.Entry{Ref: a, Digest: charts.Digest(nil)})
	st = charts.NewStore(st.Dir, st.LockFile)
	if diff, err := charts.Check([]charts.Ref{a, a}, st); err != nil || len(diff) != 0 {
		t.Fatalf("up to date: %v %v", diff, err)
	}
	a2 := mustRef(t, "https://charts.example.com", "a", "1.1.0")
	diff, _ := charts.Check([]charts.Ref{b, a2}, st)
	want := []string{
		"a 1.1.0 from https://charts.example.com is used but not locked",
		"oci://registry.example.com/charts/b:2.0.0 is used but not locked",
		"a 1.0.0 from https://charts.example.com is locked but nothing uses it",
	}
	if strings.Join(diff, "\n") != strings.Join(want, "\n") {
		t.Fatalf("drift:\n%s\nwant:\n%s", strings.Join(diff, "\n"), strings.Join(want, "\n"))
	}
}
