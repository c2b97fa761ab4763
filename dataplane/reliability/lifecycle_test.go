package reliability

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// SIGTERM (the run context ending, as cmd/dataplane's signal.NotifyContext does) while streams
// are in flight: /readyz fails at once, new connections are refused, and every stream runs to
// its end before Run returns.
func TestSIGTERMDrainsStreams(t *testing.T) {
	_, addrs := startSims(t, 2, "llama-3-8b-instruct")
	_, res := renderPlatform(t, nil, nil)
	gw := startGateway(t, res, gwOptions{Pools: map[string][]string{"vllm.inference": addrs}, ShutdownTimeout: 20 * time.Second})
	const streams = 6
	started := make(chan struct{}, streams)
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"model":"llama-3-8b-instruct","stream":true,"max_tokens":1500,"ignore_eos":true,"messages":[{"role":"user","content":"tell a long story"}]}`
			resp, err := http.Post(gw.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				started <- struct{}{}
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			first, done := true, false
			for sc.Scan() {
				if first && strings.HasPrefix(sc.Text(), "data: ") {
					first = false
					started <- struct{}{}
				}
				if sc.Text() == "data: [DONE]" {
					done = true
				}
			}
			if first {
				started <- struct{}{}
			}
			if !done {
				errs <- errors.New("a stream was cut by the shutdown")
			}
		}()
	}
	for i := 0; i < streams; i++ {
		<-started
	}
	stopped := make(chan error, 1)
	stopAt := time.Now()
	go func() { stopped <- gw.Stop() }()
	waitFor(t, "/readyz to fail", 5*time.Second, func() bool {
		resp, err := http.Get(gw.Admin + "/readyz")
		if err != nil {
			return true
		}
		resp.Body.Close()
		return resp.StatusCode != 200
	})
	waitFor(t, "new connections to be refused", 5*time.Second, func() bool {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
		resp, err := c.Get(gw.URL + "/v1/models")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	select {
	case err := <-stopped:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the drain did not end")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("drained %d streams in %s", streams, time.Since(stopAt).Round(time.Millisecond))
}

// A dataplane restarted with the same config and session key: an MCP client's session goes on
// against the new process without a new initialize.
func TestRestartKeepsMCPSessions(t *testing.T) {
	iss := startIssuer(t)
	everything := startEverythingOrSkip(t)
	_, res := renderPlatform(t, []string{"mcp"}, append(identitySet(iss.OIDCIssuer, iss.Port), "mcp.requests=1000", "mcp.bucket=1000"))
	key := []byte("0123456789abcdef0123456789abcdef")
	resolve := map[string]string{"mcp-server-everything.mcp": everything, "dex.dex": "127.0.0.1:" + strconv.Itoa(iss.Port)}
	// The client keeps its standalone GET stream open: the drain waits for it up to the timeout.
	first := startGateway(t, res, gwOptions{Resolve: resolve, SessionKey: key, ShutdownTimeout: time.Second})
	addr := strings.TrimPrefix(first.URL, "http://")

	hc := &http.Client{Transport: bearer{token: iss.Token(t, "")}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := sdk.NewClient(&sdk.Implementation{Name: "reliability", Version: "1"}, nil)
	session, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: first.URL + "/mcp", HTTPClient: hc, MaxRetries: 5}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer session.Close()
	call := func(msg string) {
		t.Helper()
		res, err := session.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"message": msg}})
		if err != nil || res.IsError || len(res.Content) == 0 {
			t.Fatalf("tools/call echo %q: %v %+v", msg, err, res)
		}
	}
	call("before")
	id := session.ID()
	if err := first.Stop(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
	startGateway(t, nil, gwOptions{Resolve: resolve, SessionKey: key, Dir: first.Dir, Listen: addr})
	call("after the restart")
	if session.ID() != id {
		t.Fatalf("the session changed: %q -> %q", id, session.ID())
	}
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}
