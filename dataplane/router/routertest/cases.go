// Package routertest reads the Gateway API routing cases (dataplane/router/testdata/routing.yaml)
// that the router's table tests and the dataplane's loopback tests both run.
package routertest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// Cases is routing.yaml: Base holds the Gateway and Services; each case adds routes and a
// request, and names the backend that must answer (or a status).
type Cases struct {
	Base  string `yaml:"base"`
	Cases []struct {
		Name    string `yaml:"name"`
		Routes  string `yaml:"routes"`
		Request struct {
			Method  string            `yaml:"method"`
			Host    string            `yaml:"host"`
			Target  string            `yaml:"target"`
			Headers map[string]string `yaml:"headers"`
		} `yaml:"request"`
		Want string `yaml:"want"`
	} `yaml:"cases"`
}

// Load reads routing.yaml from the router package's testdata.
func Load(t testing.TB) Cases {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "testdata", "routing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rc Cases
	if err := yaml.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	if len(rc.Cases) < 30 {
		t.Fatalf("routing.yaml: only %d cases", len(rc.Cases))
	}
	return rc
}
