package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// wrapped is middleware's writer (as telemetry and rate limits wrap it): handlers reach the
// recorder through Unwrap.
type wrapped struct{ http.ResponseWriter }

func (w wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestAccessLineCarriesHandlerFields: a backend handler's fields (an LLM call's model and
// tokens) are written on the request's one access line, the last set winning (a failover's
// answering provider), and a request without them has the plain line.
func TestAccessLineCarriesHandlerFields(t *testing.T) {
	var logs bytes.Buffer
	s := New(Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	type setter interface{ SetLogAttrs(...slog.Attr) }
	s.Swap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/llm" {
			w := wrapped{w}
			var found setter
			for rw := http.ResponseWriter(w); rw != nil && found == nil; {
				if a, ok := rw.(setter); ok {
					found = a
				} else if u, ok := rw.(interface{ Unwrap() http.ResponseWriter }); ok {
					rw = u.Unwrap()
				} else {
					break
				}
			}
			if found == nil {
				t.Fatal("no SetLogAttrs behind the middleware's writer")
			}
			found.SetLogAttrs(slog.String("model", "first"), slog.Int("prompt_tokens", 1))
			found.SetLogAttrs(slog.String("model", "m"), slog.Int("prompt_tokens", 12))
		}
		w.WriteHeader(http.StatusOK)
	}), nil)
	for _, path := range []string{"/llm", "/plain"} {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", path, strings.NewReader("{}")))
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per request, got %d:\n%s", len(lines), logs.String())
	}
	for i, tc := range []struct {
		path  string
		model any
	}{{"/llm", "m"}, {"/plain", nil}} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, lines[i])
		}
		if rec["msg"] != "request" || rec["path"] != tc.path || rec["model"] != tc.model || rec["status"] != float64(200) {
			t.Errorf("line %d: %s", i, lines[i])
		}
		if tc.model != nil && rec["prompt_tokens"] != float64(12) {
			t.Errorf("line %d: prompt_tokens %v", i, rec["prompt_tokens"])
		}
		if strings.Count(lines[i], `"model"`) > 1 {
			t.Errorf("line %d repeats a field: %s", i, lines[i])
		}
	}
}
