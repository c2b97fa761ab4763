package llm

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// echo is a Translator for the Upstream's own tests: the body goes up as it is, replies come
// back as they are, and each upstream event is relayed until "end".
type echo struct {
	stream bool
	key    string
}

func (e *echo) RequestBody(_ context.Context, body []byte) (*UpstreamRequest, *apierror.Error) {
	if string(body) == "bad" {
		return nil, apierror.InvalidRequest("x", "bad body")
	}
	return &UpstreamRequest{Path: "/op?alt=sse", Body: body, Model: "m", Stream: e.stream}, nil
}
func (e *echo) RequestHeaders(h, _ http.Header, key string) { e.key = key; h.Set("X-Key", key) }
func (e *echo) ResponseHeaders(dst, src http.Header)        { dst.Set("X-Up", src.Get("X-Up")) }
func (e *echo) ResponseBody(_ context.Context, b []byte, res *Result) ([]byte, *apierror.Error) {
	res.ResponseModel = "m"
	return append([]byte(nil), b...), nil
}
func (e *echo) StreamEvent(_ context.Context, data []byte, w ChunkWriter) (bool, error) {
	if string(data) == "end" {
		return true, w.Done()
	}
	return false, w.Data(data)
}
func (e *echo) StreamEnd(_ context.Context, _ error, w ChunkWriter) error {
	err := &apierror.Error{Status: 502, Type: apierror.ErrServer, Message: "cut"}
	_ = w.Data(err.AppendJSON(nil))
	return &StreamError{Err: err}
}
func (e *echo) StreamResult(res *Result) { res.FinishReason = "stop" }
func (e *echo) ResponseError(status int, _ http.Header, body []byte) *apierror.Error {
	return &apierror.Error{Status: status, Type: apierror.ErrAuthentication, Message: string(body)}
}

func TestUpstream(t *testing.T) {
	const key = "sk-secret-0123456789"
	var got *http.Request
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Up", "1")
		switch string(body) {
		case "fail":
			w.WriteHeader(401)
			_, _ = io.WriteString(w, "bad key "+key)
		case "stream":
			_, _ = io.WriteString(w, "data: a\n\ndata: b\n\ndata: end\n\n")
		case "cut":
			_, _ = io.WriteString(w, "data: a\n\n")
		case "slow":
			time.Sleep(200 * time.Millisecond)
		default:
			_, _ = w.Write(body)
		}
	}))
	defer up.Close()
	for _, tc := range []struct {
		name, body string
		stream     bool
		key        func() (string, error)
		timeout    time.Duration
		status     int
		want       string
	}{
		{name: "json", body: `{"a":1}`, status: 200, want: `{"a":1}`},
		{name: "translator refuses", body: "bad", status: 400, want: `"param":"x"`},
		{name: "upstream error redacted", body: "fail", status: 401, want: "bad key [REDACTED]"},
		{name: "stream", body: "stream", stream: true, status: 200, want: "data: a\n\ndata: b\n\ndata: [DONE]\n\n"},
		{name: "stream cut", body: "cut", stream: true, status: 200, want: "data: a\n\ndata: {\"error\":{\"message\":\"cut\""},
		{name: "key unreadable", body: "{}", key: func() (string, error) { return "", errors.New("not mounted") }, status: 500, want: "backend_credentials_unavailable"},
		{name: "key empty", body: "{}", key: func() (string, error) { return " ", nil }, status: 500, want: "empty API key"},
		{name: "too large", body: strings.Repeat("x", 65), status: 413},
		{name: "timeout", body: "slow", timeout: 50 * time.Millisecond, status: 504, want: "the Test upstream timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keyFn := tc.key
			if keyFn == nil {
				keyFn = func() (string, error) { return "Bearer " + key, nil }
			}
			stream := tc.stream
			u, err := NewUpstream(UpstreamConfig{Provider: "test", Name: "Test", BaseURL: up.URL + "/v1",
				NewTranslator: func() Translator { return &echo{stream: stream} }, APIKey: keyFn, KeyRequired: true,
				MaxRequestBytes: 64, MaxResponseBytes: 1 << 10})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/chat/completions", strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer client")
			u.ServeHTTP(rec, req)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%d %q, want %d containing %q", rec.Code, rec.Body, tc.status, tc.want)
			}
			if strings.Contains(rec.Body.String(), key) {
				t.Fatalf("the key reached the client: %s", rec.Body)
			}
			if tc.status != 200 || got == nil {
				return
			}
			accept := "application/json"
			if tc.stream {
				accept = "text/event-stream"
			}
			if got.URL.Path != "/v1/op" || got.URL.RawQuery != "alt=sse" || got.Header.Get("X-Key") != key ||
				got.Header.Get("Authorization") != "" || got.Header.Get("Accept") != accept || got.Header.Get("Content-Type") != "application/json" {
				t.Errorf("upstream request %s %v", got.URL, got.Header)
			}
			if rec.Header().Get("X-Up") != "1" {
				t.Errorf("response headers %v", rec.Header())
			}
		})
	}
}

// A provider that answers a redirect gets no second request: net/http would follow it and send
// the backend's key header (X-Key here, x-api-key for Anthropic) to the target, another host or
// plain http. The client gets a 502 naming the redirect, and the target sees nothing.
func TestUpstreamRedirectNotFollowed(t *testing.T) {
	const key = "sk-secret-redirect-0123456789"
	var reached []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = append(reached, r.Header.Get("X-Key"))
		_, _ = io.WriteString(w, `{"stolen":true}`)
	}))
	defer elsewhere.Close()
	for i, status := range []int{301, 302, 303, 307, 308} {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+"/v1/op", status)
		}))
		// A caller's client with its own settings keeps them; only redirects are turned off.
		// A plain client's transport is called directly, one with a timeout through Do.
		caller := &http.Client{}
		if i%2 == 0 {
			caller.Timeout = 5 * time.Second
		}
		u, err := NewUpstream(UpstreamConfig{Provider: "test", Name: "Test", BaseURL: up.URL + "/v1", Client: caller,
			NewTranslator: func() Translator { return &echo{} }, APIKey: func() (string, error) { return key, nil },
			MaxRequestBytes: 64, MaxResponseBytes: 1 << 10})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{}`)))
		up.Close()
		if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "upstream_redirect") {
			t.Errorf("%d: got %d %s, want 502 upstream_redirect", status, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), key) || strings.Contains(rec.Body.String(), "stolen") {
			t.Errorf("%d: response %s", status, rec.Body)
		}
		if caller.CheckRedirect != nil {
			t.Errorf("the caller's client was changed")
		}
	}
	if len(reached) != 0 {
		t.Fatalf("the redirect target got %d requests (keys %q)", len(reached), reached)
	}
}

// A stream that ended with its last event keeps the upstream connection: the Upstream reads on
// to the end of the response (the chunked terminator, sent here only once the client has the
// last event) instead of closing the body early, which makes net/http drop the connection. An
// upstream that never ends its response is cut after streamDrainWait.
func TestUpstreamStreamKeepsConnection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		endsLater bool // the upstream ends its response once the client has [DONE]; else never
		wantConns int64
	}{
		{"upstream ends the response after the last event", true, 1},
		{"upstream holds the response open", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int64
			release := make(chan struct{}, 4)
			up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				for _, ev := range []string{"data: a\n\n", "data: end\n\n"} {
					_, _ = io.WriteString(w, ev)
					w.(http.Flusher).Flush()
				}
				if tc.endsLater {
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return
				}
				<-r.Context().Done()
			}))
			up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			up.Start()
			defer up.Close()
			if tc.endsLater {
				old := streamDrainWait
				streamDrainWait = time.Minute // the release below takes as long as the machine lets it
				defer func() { streamDrainWait = old }()
			}
			u, err := NewUpstream(UpstreamConfig{Provider: "test", Name: "Test", BaseURL: up.URL + "/v1",
				NewTranslator: func() Translator { return &echo{stream: true} }, MaxRequestBytes: 64, MaxResponseBytes: 1 << 10})
			if err != nil {
				t.Fatal(err)
			}
			gw := httptest.NewServer(u)
			defer gw.Close()
			for range 2 {
				resp, err := gw.Client().Post(gw.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				rd := bufio.NewReader(resp.Body)
				var got strings.Builder
				for !strings.HasSuffix(got.String(), "data: [DONE]\n\n") {
					line, err := rd.ReadString('\n')
					got.WriteString(line)
					if err != nil {
						t.Fatalf("stream %q: %v", got.String(), err)
					}
				}
				release <- struct{}{}
				if rest, err := io.ReadAll(rd); err != nil || len(rest) != 0 {
					t.Fatalf("after [DONE]: %q, %v", rest, err)
				}
				resp.Body.Close()
				if want := "data: a\n\ndata: [DONE]\n\n"; got.String() != want {
					t.Fatalf("stream %q, want %q", got.String(), want)
				}
			}
			if n := conns.Load(); n != tc.wantConns {
				t.Errorf("%d upstream connections for 2 streams, want %d", n, tc.wantConns)
			}
		})
	}
}
