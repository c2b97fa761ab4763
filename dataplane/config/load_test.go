package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
)

const good = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dataplane, namespace: default}
data:
  resources.yaml: |
    not: unpacked
`

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.yaml"), good)
	write(t, filepath.Join(dir, "a", "x.json"), "{}")
	write(t, filepath.Join(dir, "notes.txt"), "x")
	write(t, filepath.Join(dir, ".hidden", "h.yaml"), good)
	write(t, filepath.Join(dir, "..2026", "cm.yaml"), good)
	if err := os.Symlink(filepath.Join("..2026", "cm.yaml"), filepath.Join(dir, "cm.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("missing.yaml", filepath.Join(dir, "dangling.yaml")); err != nil {
		t.Fatal(err)
	}
	got, err := manifest.Files([]string{dir, "-"})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range got {
		r, _ := filepath.Rel(dir, f)
		if f == "-" {
			r = "-"
		}
		rel = append(rel, r)
	}
	if strings.Join(rel, " ") != "a/x.json b.yaml cm.yaml -" {
		t.Fatalf("files = %v", rel)
	}
	if _, err := manifest.Files([]string{filepath.Join(dir, "nope")}); err == nil {
		t.Fatal("missing path accepted")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "r.yaml"), good)
	s := &Source{Paths: []string{dir}}
	res, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Config.Listeners) != 1 {
		t.Fatalf("listeners = %d", len(res.Config.Listeners))
	}
	fp, err := s.Fingerprint()
	if err != nil || fp != res.Fingerprint {
		t.Fatalf("fingerprint differs from the load's: %v", err)
	}

	write(t, filepath.Join(dir, "bad.yaml"), "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {parentRefs: [{name: nope}]}\n")
	_, err = s.Load()
	var inv *InvalidError
	if !errors.As(err, &inv) || !strings.Contains(FormatFindings(inv.Findings), "bad.yaml:4:") {
		t.Fatalf("invalid config: %v", err)
	}
	write(t, filepath.Join(dir, "bad.yaml"), "kind: [")
	var me *manifest.Error
	if _, err = s.Load(); !errors.As(err, &me) {
		t.Fatalf("unparseable: %T %v", err, err)
	}
}

func TestStdinIsReadOnce(t *testing.T) {
	s := &Source{Paths: []string{"-"}, Stdin: strings.NewReader(good)}
	for range 2 {
		res, err := s.Load()
		if err != nil || len(res.Config.Listeners) != 1 {
			t.Fatalf("load: %v", err)
		}
	}
	if s.Watchable() {
		t.Fatal("stdin alone is not watchable")
	}
}

func TestWatcherKeepsOldConfigOnFailure(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "r.yaml"), good)
	var applied int
	var outcomes []bool
	w := &Watcher{
		Source:   &Source{Paths: []string{dir}},
		Apply:    func(*Result) error { applied++; return nil },
		OnReload: func(ok bool) { outcomes = append(outcomes, ok) },
	}
	if _, err := w.Initial(); err != nil {
		t.Fatal(err)
	}
	if w.Check() {
		t.Fatal("reloaded without a change")
	}
	write(t, filepath.Join(dir, "r.yaml"), good+"---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {parentRefs: [{name: nope}]}\n")
	if !w.Check() || applied != 1 {
		t.Fatalf("invalid config applied (applied=%d)", applied)
	}
	if w.Check() {
		t.Fatal("retried an unchanged invalid config")
	}
	write(t, filepath.Join(dir, "r.yaml"), good+"# fixed\n")
	if !w.Check() || applied != 2 {
		t.Fatalf("valid change not applied (applied=%d)", applied)
	}
	if len(outcomes) != 2 || outcomes[0] || !outcomes[1] {
		t.Fatalf("outcomes = %v", outcomes)
	}
}
