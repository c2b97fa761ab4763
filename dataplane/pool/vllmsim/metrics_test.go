package vllmsim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
)

// The metrics reply is rendered once per state: each reply is what rendering the state of that
// moment gives, it follows the state as requests come and go, and the picker's parser reads it
// as the exposition parser does.
func TestMetricsReplyFollowsState(t *testing.T) {
	s := newServer(t, Config{MaxNumSeqs: 1, DecodePerToken: time.Minute, NumGPUBlocks: 1000})
	get := func() ([]byte, http.Header) {
		t.Helper()
		resp, err := http.Get("http://" + s.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
		}
		return b, resp.Header
	}
	check := func(what string, running, waiting float64) {
		t.Helper()
		for range 2 { // the second reply is the rendered one, served again
			b, h := get()
			var want bytes.Buffer
			writeMetrics(&want, &s.cfg, s.eng.Load().snapshot())
			if !bytes.Equal(b, want.Bytes()) {
				t.Fatalf("%s: reply\n%s\nwant the state's rendering\n%s", what, b, want.Bytes())
			}
			if h.Get("Content-Length") != strconv.Itoa(len(b)) {
				t.Fatalf("%s: Content-Length %q for %d bytes", what, h.Get("Content-Length"), len(b))
			}
			m, err := metricsparse.Parse(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			parser := expfmt.NewTextParser(model.LegacyValidation)
			fams, err := parser.TextToMetricFamilies(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			viaExpfmt, err := metricsparse.FromFamilies(fams)
			if err != nil {
				t.Fatal(err)
			}
			if m.Running != running || m.Waiting != waiting || !reflect.DeepEqual(m, viaExpfmt) {
				t.Fatalf("%s: parsed %+v, the exposition parser %+v; want running %v waiting %v", what, m, viaExpfmt, running, waiting)
			}
		}
	}
	waitStats := func(running, waiting int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for st := s.Stats(); st.Running != running || st.Waiting != waiting; st = s.Stats() {
			if time.Now().After(deadline) {
				t.Fatalf("running %d waiting %d, want %d and %d", st.Running, st.Waiting, running, waiting)
			}
			time.Sleep(time.Millisecond)
		}
	}

	check("idle", 0, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{}, 2)
	for range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.Addr()+"/v1/completions",
				strings.NewReader(`{"model":"sim-model","prompt":"x","max_tokens":10,"stream":true}`))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	waitStats(1, 1)
	check("one running, one waiting", 1, 1)
	cancel()
	<-done
	<-done
	waitStats(0, 0)
	check("idle again", 0, 0)
}
