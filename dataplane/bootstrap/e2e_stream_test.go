package bootstrap

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// streamingUpstream sends one SSE event, then waits for next (or the client to leave) before
// the second. It reports when its request context ends.
func streamingUpstream(t *testing.T, next <-chan struct{}, canceled chan<- struct{}) *httptest.Server {
	return upstream(t, "sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if r.URL.Query().Get("chunked") != "" {
			// Not SSE: a chunked body of unknown length must be flushed too.
			w.Header().Set("Content-Type", "application/x-ndjson")
		}
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-next:
			fmt.Fprint(w, "data: two\n\n")
		case <-r.Context().Done():
			if canceled != nil {
				canceled <- struct{}{}
			}
		}
	})
}

func TestEndToEndStreamingAndCancel(t *testing.T) {
	next := make(chan struct{})
	canceled := make(chan struct{}, 1)
	sse := streamingUpstream(t, next, canceled)
	dir := t.TempDir()
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - backendRefs: [{name: sse, port: 80}]`))
	r := start(t, Settings{Config: []string{dir}, Resolve: map[string]string{"sse.default": hostport(sse)}})

	// The first event arrives while the upstream still holds the stream open.
	resp, err := http.Get(r.url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	_, m := get(t, nil, r.admin+"/metrics", nil)
	if !strings.Contains(m, "dataplane_streams_in_flight 1") {
		t.Errorf("streams gauge:\n%s", grep(m, "in_flight"))
	}
	next <- struct{}{}
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if !strings.Contains(string(rest), "data: two") {
		t.Fatalf("rest: %q", rest)
	}

	resp, err = http.Get(r.url + "/stream?chunked=1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != -1 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("chunked response: length %d, %v", resp.ContentLength, resp.Header)
	}
	br = bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: one\n" {
		t.Fatalf("first chunk: %q %v", line, err)
	}
	next <- struct{}{}
	_, _ = io.ReadAll(br)
	resp.Body.Close()

	// A client that goes away cancels the upstream request.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", r.url+"/stream", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(resp.Body).ReadString('\n'); line != "data: one\n" {
		t.Fatalf("first event: %q", line)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream request was not canceled after the client left")
	}
}

func TestEndToEndBodyLimit(t *testing.T) {
	a := upstream(t, "a", nil)
	dir := t.TempDir()
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - backendRefs: [{name: a, port: 80}]`))
	r := start(t, Settings{Config: []string{dir}, MaxRequestBody: 1024, Resolve: map[string]string{"a.default": hostport(a)}})
	post := func(body io.Reader) (int, string) {
		resp, err := http.Post(r.url+"/", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(strings.NewReader(strings.Repeat("x", 1024))); code != 200 || body != "a:1024" {
		t.Errorf("at the limit: %d %s", code, body)
	}
	if code, body := post(strings.NewReader(strings.Repeat("x", 1025))); code != 413 || !strings.Contains(body, "too large") {
		t.Errorf("Content-Length over the limit: %d %s", code, body)
	}
	// Chunked (unknown length): cut while streaming to the upstream.
	if code, body := post(io.MultiReader(strings.NewReader(strings.Repeat("x", 4096)))); code != 413 {
		t.Errorf("chunked over the limit: %d %s", code, body)
	}
}

func TestEndToEndH2C(t *testing.T) {
	a := upstream(t, "a", nil)
	dir := t.TempDir()
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - backendRefs: [{name: a, port: 80}]`))
	r := start(t, Settings{Config: []string{dir}, Resolve: map[string]string{"a.default": hostport(a)}})
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: &p}}
	resp, body := get(t, c, r.url+"/", nil)
	if resp.ProtoMajor != 2 || resp.Header.Get("X-Upstream") != "a" || body != "a:0" {
		t.Fatalf("h2c: proto %s, %v %q", resp.Proto, resp.Header, body)
	}
}

func TestEndToEndGracefulDrain(t *testing.T) {
	next := make(chan struct{})
	sse := streamingUpstream(t, next, nil)
	dir := t.TempDir()
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - backendRefs: [{name: sse, port: 80}]`))
	r := start(t, Settings{Config: []string{dir}, ShutdownTimeout: 10 * time.Second, Resolve: map[string]string{"sse.default": hostport(sse)}})

	resp, err := http.Get(r.url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if line, _ := br.ReadString('\n'); line != "data: one\n" {
		t.Fatalf("first event: %q", line)
	}
	r.stop() // SIGTERM
	waitFor(t, "readyz to fail", func() bool {
		resp, err := http.Get(r.admin + "/readyz")
		if err != nil {
			return true
		}
		resp.Body.Close()
		return resp.StatusCode == 503
	})
	waitFor(t, "listener to close", func() bool {
		c, err := net.DialTimeout("tcp", r.ln.Addr().String(), time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	select {
	case err := <-r.done:
		t.Fatalf("Run returned while a stream was open: %v", err)
	default:
	}
	next <- struct{}{} // the stream completes during the drain
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if !strings.Contains(string(rest), "data: two") {
		t.Fatalf("stream cut during drain: %q", rest)
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		r.done <- nil // for Cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
}

func TestEndToEndDrainDeadline(t *testing.T) {
	sse := streamingUpstream(t, make(chan struct{}), nil) // never finishes
	dir := t.TempDir()
	writeConfig(t, dir, gatewayYAML+httpRoute("r", `  rules:
  - backendRefs: [{name: sse, port: 80}]`))
	r := start(t, Settings{Config: []string{dir}, ShutdownTimeout: 200 * time.Millisecond, Resolve: map[string]string{"sse.default": hostport(sse)}})
	resp, err := http.Get(r.url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if line, _ := bufio.NewReader(resp.Body).ReadString('\n'); line != "data: one\n" {
		t.Fatalf("first event: %q", line)
	}
	t0 := time.Now()
	r.stop()
	select {
	case <-r.done:
		r.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return at the drain deadline")
	}
	if d := time.Since(t0); d < 150*time.Millisecond {
		t.Errorf("returned after %s, before the deadline", d)
	}
}
