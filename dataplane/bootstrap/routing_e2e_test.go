package bootstrap

import (
	"github.com/infergw/gwctl/dataplane/router/routertest"
	"io"
	"net/http"
	"strconv"
	"testing"
)

// TestEndToEndRoutingCases runs every Gateway API routing case of the router's table
// (dataplane/router/testdata/routing.yaml) through a real dataplane over loopback, with three
// real upstream servers standing in for Services a, b and c.
func TestEndToEndRoutingCases(t *testing.T) {
	rc := routertest.Load(t)
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
