package wiring_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/dataplane/wiring"
)

// A pool whose endpoint picker decides with FailClose never picks in-process: it scrapes its
// model servers only to know which it can reach (once a second), while a FailOpen pool, whose
// fallback is the in-process picker, keeps the picker's 50 ms scrapes. Both pools run in one
// dataplane, so a loaded machine slows their scrape loops alike.
func TestEndpointPickerPoolScrapesForReachability(t *testing.T) {
	type server struct {
		addr    string
		scrapes atomic.Int64
	}
	servers := map[string]*server{}
	for _, mode := range []string{"FailClose", "FailOpen"} {
		sim, err := vllmsim.New(vllmsim.Config{})
		if err != nil {
			t.Fatal(err)
		}
		s := &server{}
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/metrics" {
				s.scrapes.Add(1)
			}
			sim.ServeHTTP(w, r)
		}))
		t.Cleanup(ts.Close)
		s.addr = strings.TrimPrefix(ts.URL, "http://")
		servers[mode] = s
	}
	var b strings.Builder
	b.WriteString(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: inference}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
`)
	pools := map[string][]string{}
	resolve := map[string]string{}
	for i, mode := range []string{"FailClose", "FailOpen"} {
		name := strings.ToLower(mode)
		fmt.Fprintf(&b, `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %[1]s, namespace: inference}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /%[1]s}}], backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: %[1]s}]}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: %[1]s, namespace: inference}
spec:
  selector: {matchLabels: {app: %[1]s}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: %[1]s-epp, port: {number: 9002}, failureMode: %[2]s}
---
apiVersion: v1
kind: Service
metadata: {name: %[1]s-epp, namespace: inference}
spec: {ports: [{name: grpc, port: 9002}]}
`, name, mode)
		pools[name+".inference"] = []string{servers[mode].addr}
		// No picker listens there: the pools are never asked to pick in this test.
		resolve[name+"-epp.inference:9002"] = fmt.Sprintf("127.0.0.1:%d", 1+i)
	}
	startDataplaneWith(t, []byte(b.String()), resolve, wiring.Options{SessionKey: make([]byte, 32), PoolEndpoints: pools})

	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for servers["FailOpen"].scrapes.Load() < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("the FailOpen pool scraped %d times in 20s, want its 50 ms interval", servers["FailOpen"].scrapes.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	// One scrape when the pool starts, then one a second.
	limit := 1 + int64(elapsed/time.Second) + 1
	if n := servers["FailClose"].scrapes.Load(); n < 1 || n > limit {
		t.Errorf("the FailClose pool scraped %d times while the FailOpen pool scraped 6 (%v): want 1 to %d", n, elapsed.Round(time.Millisecond), limit)
	}
}
