package bootstrap

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// TestEndToEndRoutingCases runs every Gateway API routing case of the router's table
// (dataplane/router/testdata/routing.yaml) through a real dataplane over loopback, with three
// real upstream servers standing in for Services a, b and c.
func TestEndToEndRoutingCases(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "router", "testdata", "routing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rc struct {
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
	if err := yaml.Unmarshal(raw, &rc); err != nil {
		t.Fatal(err)
	}
	resolve := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		resolve[n+".ns"] = hostport(upstream(t, n, nil))
	}
	for _, tc := range rc.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			dir := t.TempDir()
			writeConfig(t, dir, rc.Base+tc.Routes)
			r := start(t, Settings{Config: []string{dir}, Resolve: resolve})
			method := tc.Request.Method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, r.url+tc.Request.Target, nil)
			req.Host = tc.Request.Host
			if req.Host == "" {
				req.Host = "example.com"
			}
			for k, v := range tc.Request.Headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := resp.Header.Get("X-Upstream")
			if got == "" {
				got = strconv.Itoa(resp.StatusCode)
			}
			if got != tc.Want {
				t.Fatalf("got %s, want %s (%d %s)", got, tc.Want, resp.StatusCode, body)
			}
		})
	}
}
