package failover

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// upstream is a real loopback server whose behaviour a test switches.
type upstream struct {
	name string
	srv  *httptest.Server
	mode atomic.Value // string: ok, 5xx, hang, reset, stream-break
	hits atomic.Int64
	body atomic.Value // last request body
}

func newUpstream(t *testing.T, name string) *upstream {
	t.Helper()
	u := &upstream{name: name}
	u.mode.Store("ok")
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.hits.Add(1)
	b, _ := io.ReadAll(r.Body)
	u.body.Store(string(b))
	switch u.mode.Load().(string) {
	case "5xx":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"message":"overloaded from `+u.name+`"}}`)
	case "hang":
		<-r.Context().Done()
	case "reset":
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	case "stream-break", "body-break":
		if u.mode.Load() == "stream-break" {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"hel\"}}]}\n\n")
		} else {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"partial":`)
		}
		http.NewResponseController(w).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	case "trailer":
		w.Header().Set("Trailer", "X-Usage")
		io.WriteString(w, `{"served_by":"`+u.name+`"}`)
		w.Header().Set("X-Usage", "42")
	default:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"served_by":"`+u.name+`"}`)
	}
}

// proxyTo is a backend handler as the dataplane builds one: a reverse proxy that reports
// transport errors to the failover handler.
func proxyTo(t testing.TB, raw string) http.Handler {
	t.Helper()
	target, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport:     &http.Transport{ResponseHeaderTimeout: 5 * time.Second, MaxIdleConnsPerHost: 64},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			RecordError(r.Context(), err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
}

type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

type rig struct {
	primary, fallback *upstream
	f                 *Failover
	front             *httptest.Server
	reg               *prometheus.Registry
	clock             *clock
}

func newRig(t *testing.T, mutate func(*Config)) *rig {
	t.Helper()
	rg := &rig{primary: newUpstream(t, "primary"), fallback: newUpstream(t, "fallback"), reg: prometheus.NewRegistry(), clock: &clock{}}
	m, err := NewMetrics(rg.reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Route: "ns/chat",
		Priorities: [][]Backend{
			{{Name: "anthropic", Kind: "anthropic", Handler: proxyTo(t, rg.primary.srv.URL)}},
			{{Name: "openai", Kind: "openai", Handler: proxyTo(t, rg.fallback.srv.URL)}},
		},
		Outlier:        Outlier{Consecutive: 2, BaseEjection: time.Minute, MaxEjection: 10 * time.Minute},
		Budget:         Budget{Ratio: 1, MinPerSecond: 100},
		AttemptTimeout: 2 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	rg.f, err = New(cfg, Deps{Metrics: m, Now: rg.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rg.f.Close() })
	rg.front = httptest.NewServer(rg.f)
	t.Cleanup(rg.front.Close)
	return rg
}

type reply struct {
	status         int
	backend, chain string
	body           string
	err            error
	contentType    string
}

func (rg *rig) do(t *testing.T, body string) reply {
	t.Helper()
	resp, err := http.Post(rg.front.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, backend: resp.Header.Get(HeaderBackend), chain: resp.Header.Get(HeaderFailover),
		body: string(b), err: err, contentType: resp.Header.Get("Content-Type")}
}

const chatBody = `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`

func TestFailsOverBeforeFirstByte(t *testing.T) {
	for _, tc := range []struct {
		mode, reason string
		timeout      time.Duration
	}{
		{mode: "5xx", reason: Reason5xx},
		{mode: "hang", reason: ReasonTimeout, timeout: 100 * time.Millisecond},
		{mode: "reset", reason: ReasonReset},
		{mode: "killed", reason: ReasonConnect},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			rg := newRig(t, func(c *Config) {
				if tc.timeout > 0 {
					c.AttemptTimeout = tc.timeout
				}
			})
			if tc.mode == "killed" {
				rg.primary.srv.Close()
			} else {
				rg.primary.mode.Store(tc.mode)
			}
			for i := 0; i < 3; i++ {
				r := rg.do(t, chatBody)
				if r.err != nil || r.status != 200 || r.body != `{"served_by":"fallback"}` {
					t.Fatalf("request %d: %+v", i, r)
				}
				if r.backend != "openai" {
					t.Fatalf("x-gateway-backend %q", r.backend)
				}
				if i < 2 && r.chain != "anthropic:"+tc.reason+",openai" {
					t.Fatalf("request %d: x-gateway-failover %q, want reason %s", i, r.chain, tc.reason)
				}
				if i == 2 && r.chain != "" {
					t.Fatalf("after 2 failures the primary is ejected and not tried, chain %q", r.chain)
				}
			}
			if got := rg.fallback.body.Load(); got != chatBody {
				t.Fatalf("fallback got body %q", got)
			}
			if n := testutil.ToFloat64(rg.f.m.failovers.WithLabelValues("ns/chat", "anthropic", "openai", tc.reason)); n != 2 {
				t.Fatalf("failover counter %v, want 2", n)
			}
			if n := testutil.ToFloat64(rg.f.m.ejections.WithLabelValues("ns/chat", "anthropic")); n != 1 {
				t.Fatalf("ejections %v, want 1", n)
			}
		})
	}
}

// A recovered primary takes traffic back through the half-open probe; a primary that is still
// failing is ejected again for twice as long.
func TestPrimaryRecovers(t *testing.T) {
	rg := newRig(t, nil)
	rg.primary.mode.Store("5xx")
	for i := 0; i < 2; i++ {
		if r := rg.do(t, chatBody); r.backend != "openai" {
			t.Fatalf("%+v", r)
		}
	}
	hits := rg.primary.hits.Load()
	if r := rg.do(t, chatBody); r.backend != "openai" || rg.primary.hits.Load() != hits {
		t.Fatalf("ejected primary was tried: %+v", r)
	}
	rg.clock.advance(time.Minute + time.Second)
	// Half-open: the probe fails, the primary is ejected again (2m now), the request still succeeds.
	if r := rg.do(t, chatBody); r.backend != "openai" || r.chain != "anthropic:5xx,openai" {
		t.Fatalf("probe: %+v", r)
	}
	rg.clock.advance(time.Minute + time.Second)
	if r := rg.do(t, chatBody); r.chain != "" {
		t.Fatalf("primary tried before its doubled ejection ended: %+v", r)
	}
	rg.primary.mode.Store("ok")
	rg.clock.advance(time.Minute)
	for i := 0; i < 3; i++ {
		if r := rg.do(t, chatBody); r.backend != "anthropic" || r.body != `{"served_by":"primary"}` {
			t.Fatalf("recovered primary did not take traffic back: %+v", r)
		}
	}
}

// After the first byte the request never switches: the stream ends with an error event.
func TestStreamBreakEndsWithErrorEvent(t *testing.T) {
	rg := newRig(t, nil)
	rg.primary.mode.Store("stream-break")
	r := rg.do(t, `{"model":"m","stream":true}`)
	if r.status != 200 || r.backend != "anthropic" || !strings.HasPrefix(r.contentType, "text/event-stream") {
		t.Fatalf("%+v", r)
	}
	if !strings.HasPrefix(r.body, `data: {"choices"`) || !strings.Contains(r.body, `"code":"stream_interrupted"`) {
		t.Fatalf("stream body %q", r.body)
	}
	if rg.fallback.hits.Load() != 0 {
		t.Fatal("switched to the fallback after the first byte")
	}
}

// Anthropic Messages clients get the error event in Anthropic's shape.
func TestStreamBreakAnthropicShape(t *testing.T) {
	rg := newRig(t, nil)
	rg.primary.mode.Store("stream-break")
	resp, err := http.Post(rg.front.URL+"/v1/messages", "application/json", strings.NewReader(`{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "event: error\ndata: {\"error\":{\"message\":") || !strings.Contains(string(b), `"type":"error"`) {
		t.Fatalf("body %q", b)
	}
}

// A non-stream body that breaks after its first byte is aborted: the client sees an error,
// never a short body that looks complete, and never another backend's answer.
func TestBodyBreakAborts(t *testing.T) {
	rg := newRig(t, nil)
	rg.primary.mode.Store("body-break")
	r := rg.do(t, chatBody)
	if r.err == nil {
		t.Fatalf("client read a complete body %q", r.body)
	}
	if rg.fallback.hits.Load() != 0 {
		t.Fatal("switched to the fallback after the first byte")
	}
}

func TestTrailersReachClient(t *testing.T) {
	rg := newRig(t, nil)
	rg.primary.mode.Store("trailer")
	resp, err := http.Post(rg.front.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Trailer.Get("X-Usage"); got != "42" {
		t.Fatalf("trailer %q", got)
	}
}

func TestAllBackendsFail(t *testing.T) {
	rg := newRig(t, nil)
	rg.primary.mode.Store("5xx")
	rg.fallback.mode.Store("5xx")
	r := rg.do(t, chatBody)
	if r.status != 503 || r.backend != "openai" || r.chain != "anthropic:5xx,openai" || !strings.Contains(r.body, "overloaded from fallback") {
		t.Fatalf("%+v", r)
	}
	// Both ejected after two rounds: panic mode still tries them rather than failing outright.
	rg.do(t, chatBody)
	rg.primary.mode.Store("ok")
	if r := rg.do(t, chatBody); r.status != 200 || r.backend != "anthropic" {
		t.Fatalf("panic mode: %+v", r)
	}
}

// When no backend answers at all the gateway answers itself, in OpenAI's error shape (code null).
func TestNoBackendAnswers(t *testing.T) {
	rg := newRig(t, func(c *Config) { c.AttemptTimeout = 50 * time.Millisecond })
	rg.primary.mode.Store("hang")
	rg.fallback.mode.Store("hang")
	r := rg.do(t, chatBody)
	var body struct {
		Error struct {
			Message, Type string
			Param, Code   *string
		}
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != 504 || r.chain != "anthropic:timeout,openai" {
		t.Fatalf("%+v (%v)", r, err)
	}
	if body.Error.Type != "upstream_error" || body.Error.Code != nil || body.Error.Param != nil || !strings.Contains(r.body, `"param":null,"code":null`) ||
		body.Error.Message != "no backend answered (last: openai, timeout)" {
		t.Fatalf("body %s", r.body)
	}
}

func TestLargeBodyDoesNotFailOver(t *testing.T) {
	rg := newRig(t, func(c *Config) { c.MaxBodyBytes = 16 })
	rg.primary.mode.Store("5xx")
	r := rg.do(t, chatBody)
	if r.status != 503 || r.backend != "anthropic" || rg.fallback.hits.Load() != 0 {
		t.Fatalf("%+v", r)
	}
	if got := rg.primary.body.Load(); got != chatBody {
		t.Fatalf("primary got a cut body %q", got)
	}
}

func TestRetryBudgetStopsFailover(t *testing.T) {
	rg := newRig(t, func(c *Config) {
		c.Budget = Budget{Ratio: 0.2, MinPerSecond: 0.1, Window: 10 * time.Second} // floor: 1 retry
		c.Outlier.Consecutive = 1000
	})
	rg.primary.mode.Store("5xx")
	var failedOver, refused int
	for i := 0; i < 20; i++ {
		switch r := rg.do(t, chatBody); r.backend {
		case "openai":
			failedOver++
		case "anthropic":
			refused++
		}
	}
	// 20 requests allow max(1, 0.2*n) retries as they arrive: 4 in all.
	if failedOver != 4 || refused != 16 {
		t.Fatalf("failed over %d, refused %d", failedOver, refused)
	}
	if n := testutil.ToFloat64(rg.f.m.exhausted.WithLabelValues("ns/chat", "budget")); n != 16 {
		t.Fatalf("budget exhausted counter %v", n)
	}
	if n := testutil.CollectAndCount(rg.f.m.exhausted); n != 1 {
		t.Fatalf("exhausted counted under %d reasons, want budget only", n)
	}
}

func TestActiveHealthEjectsAndRestores(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	rg := newRig(t, func(c *Config) {
		c.Active = ActiveHealth{Interval: 5 * time.Millisecond}
		c.Priorities[0][0].Probe = func(context.Context) error {
			if up.Load() {
				return nil
			}
			return errors.New("down")
		}
	})
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if r := rg.do(t, chatBody); r.backend == want && r.chain == "" {
				return
			}
		}
		t.Fatalf("traffic never moved to %s", want)
	}
	waitFor("anthropic")
	up.Store(false)
	waitFor("openai")
	up.Store(true)
	waitFor("anthropic")
}

func TestProbeURL(t *testing.T) {
	u := newUpstream(t, "x")
	probe := ProbeURL(http.DefaultClient, u.srv.URL+"/healthz")
	if err := probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.mode.Store("5xx")
	if err := probe(context.Background()); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Fatalf("err %v", err)
	}
}

func TestSpanEventAndTrackedAttempts(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	rg := newRig(t, nil)
	rg.primary.mode.Store("5xx")
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	ctx, attempts := Track(ctx)
	w := httptest.NewRecorder()
	rg.f.ServeHTTP(w, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(chatBody)).WithContext(ctx))
	span.End()
	if w.Code != 200 || attempts.String() != "anthropic:5xx,openai" {
		t.Fatalf("code %d attempts %q", w.Code, attempts)
	}
	spans := rec.Ended()
	if len(spans) != 1 || len(spans[0].Events()) != 1 || spans[0].Events()[0].Name != "gateway.failover" {
		t.Fatalf("span events %+v", spans)
	}
	var got []string
	for _, a := range spans[0].Events()[0].Attributes {
		got = append(got, string(a.Key)+"="+a.Value.String())
	}
	if strings.Join(got, " ") != "gateway.failover.from=anthropic gateway.failover.to=openai gateway.failover.to_kind=openai gateway.failover.reason=5xx" {
		t.Fatalf("attributes %v", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	h := http.NotFoundHandler()
	for _, cfg := range []Config{
		{},
		{Priorities: [][]Backend{{}}},
		{Priorities: [][]Backend{{{Name: "a"}}}},
		{Priorities: [][]Backend{{{Name: "a", Handler: h}}, {{Name: "a", Handler: h}}}},
	} {
		if _, err := New(cfg, Deps{}); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// Under concurrent load, killing the primary loses no request: each fails over before its
// first byte. Logs how long until the primary is ejected.
func TestKillUnderLoadLosesNothing(t *testing.T) {
	rg := newRig(t, func(c *Config) { c.Outlier = Outlier{Consecutive: 3, BaseEjection: time.Hour} })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var wg sync.WaitGroup
	var lost, total atomic.Int64
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(rg.front.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
				total.Add(1)
				if err != nil {
					lost.Add(1)
					continue
				}
				b, _ := io.ReadAll(bufio.NewReader(resp.Body))
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(b), "served_by") {
					lost.Add(1)
				}
			}
		}()
	}
	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	poll("load", func() bool { return total.Load() >= 50 })
	killed := time.Now()
	rg.primary.srv.CloseClientConnections()
	rg.primary.srv.Close()
	poll("ejection", func() bool { return rg.f.groups[0][0].health.state(rg.clock.now()) == ejected })
	detect := time.Since(killed)
	n := total.Load()
	poll("requests after the kill", func() bool { return total.Load() >= n+50 })
	close(stop)
	wg.Wait()
	t.Logf("primary ejected %v after kill; %d requests, %d lost", detect, total.Load(), lost.Load())
	if lost.Load() != 0 {
		t.Fatalf("%d of %d requests lost", lost.Load(), total.Load())
	}
}

// A body of unknown length (chunked) is buffered too, and one over the bound streams through
// to the first backend whole.
func TestChunkedBody(t *testing.T) {
	for _, tc := range []struct {
		limit    int64
		backend  string
		failover bool
	}{
		{limit: 1 << 20, backend: "openai", failover: true},
		{limit: 8, backend: "anthropic"},
	} {
		rg := newRig(t, func(c *Config) { c.MaxBodyBytes = tc.limit })
		rg.primary.mode.Store("5xx")
		pr, pw := io.Pipe()
		go func() {
			io.WriteString(pw, chatBody[:10])
			io.WriteString(pw, chatBody[10:])
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", rg.front.URL+"/v1/chat/completions", pr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get(HeaderBackend); got != tc.backend {
			t.Errorf("limit %d: served by %q", tc.limit, got)
		}
		if got := rg.primary.body.Load(); got != chatBody {
			t.Errorf("limit %d: primary got %q", tc.limit, got)
		}
	}
}

func TestPriorities(t *testing.T) {
	type provider struct{ name string }
	got, err := Priorities([][]provider{{{"a"}, {"b"}}, {{"c"}}}, func(p provider) (Backend, error) {
		return Backend{Name: p.name, Handler: http.NotFoundHandler()}, nil
	})
	if err != nil || len(got) != 2 || got[0][1].Name != "b" || got[1][0].Name != "c" {
		t.Fatalf("%v %v", got, err)
	}
	_, err = Priorities([][]provider{{{"a"}}, {{"x"}}}, func(p provider) (Backend, error) {
		if p.name == "x" {
			return Backend{}, errors.New("no handler for x")
		}
		return Backend{Name: p.name}, nil
	})
	if err == nil || err.Error() != "spec.ai.groups[1].providers[0]: no handler for x" {
		t.Fatalf("err %v", err)
	}
}

// Within a priority group, requests are spread over the providers.
func TestSpreadWithinGroup(t *testing.T) {
	a, b := newUpstream(t, "a"), newUpstream(t, "b")
	f, err := New(Config{Route: "r", Priorities: [][]Backend{{
		{Name: "a", Handler: proxyTo(t, a.srv.URL)}, {Name: "b", Handler: proxyTo(t, b.srv.URL)},
	}}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 0; i < 10; i++ {
		w := httptest.NewRecorder()
		f.ServeHTTP(w, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(chatBody)))
	}
	if a.hits.Load() != 5 || b.hits.Load() != 5 {
		t.Fatalf("hits a=%d b=%d", a.hits.Load(), b.hits.Load())
	}
}

func TestMetricsSharedAcrossReloads(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b.failovers.WithLabelValues("r", "x", "y", Reason5xx).Inc()
	if n := testutil.ToFloat64(a.failovers.WithLabelValues("r", "x", "y", Reason5xx)); n != 1 {
		t.Fatalf("counter not shared: %v", n)
	}
}
