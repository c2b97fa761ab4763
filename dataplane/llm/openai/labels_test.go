package openai

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/telemetry"
)

// A client choosing 10,000 model names, echoed back by the upstream, must not create 10,000
// series: only the route's model (and the backend's, none here) is a label value.
func TestModelLabelBounded(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Model string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`, req.Model)
	}))
	t.Cleanup(upstream.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(upstream.URL, "http://"))
	p, _ := strconv.Atoi(port)
	reg := prometheus.NewRegistry()
	m, err := llm.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(Config{Host: host, Port: p, Plaintext: true, Metrics: m, APIKey: func() (string, error) { return "k", nil }})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := llm.WithRoute(r.Context(), llm.RouteInfo{Route: "r", Backend: "b"})
		h.ServeHTTP(w, r.WithContext(llm.WithRouteModels(ctx, []string{"llama-3"})))
	}))
	t.Cleanup(gw.Close)

	const n = 10000
	models := make(chan string)
	go func() {
		defer close(models)
		models <- "llama-3"
		for i := 0; i < n; i++ {
			models <- fmt.Sprintf("model-%d-%x", i, i*7919)
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for model := range models {
				resp, err := gw.Client().Post(gw.URL+"/v1/chat/completions", "application/json",
					strings.NewReader(`{"model":`+strconv.Quote(model)+`,"messages":[{"role":"user","content":"hi"}]}`))
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("model %s: status %d", model, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := modelLabels(t, reg)
	if len(seen) != 2 || seen["llama-3"] == 0 || seen[telemetry.LabelOther] == 0 {
		t.Fatalf("model label values %v, want llama-3 and other", seen)
	}
}

// modelLabels counts the series of gwctl_llm_tokens_total by model label value.
func modelLabels(t *testing.T, reg *prometheus.Registry) map[string]int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, mf := range mfs {
		if mf.GetName() != "gwctl_llm_tokens_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "model" {
					seen[l.GetValue()]++
				}
			}
		}
	}
	return seen
}
