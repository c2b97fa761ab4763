package llmtest

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T) *Fake[string] {
	f := NewFake[string](Shape{JSONType: "application/json", ContentLength: true}, Reply{Body: []byte(`{"default":1}`)}, Reply{SSE: true, Body: []byte("data: d\n\n")})
	f.Start(t, "llmtest", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.ServeChat(w, r) {
			return
		}
		f.Record(func() string { return r.URL.Path })
		f.Write(w, r, f.Next(r.URL.Query().Has("stream")))
	}))
	return f
}

func get(t *testing.T, ctx context.Context, url string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestFakeRepliesInOrderThenDefaults(t *testing.T) {
	f := start(t)
	stream := "data: a\r\n\r\ndata: b\n\ndata: c"
	f.Push(Reply{Status: 429, Body: []byte(`{"e":1}`)}, Reply{SSE: true, Body: []byte(stream)})
	f.SetChatReply(Reply{Body: []byte(`{"chat":1}`)})
	ctx := context.Background()
	for _, tc := range []struct {
		path, wantBody, wantType string
		wantStatus               int
	}{
		{"/v1/x", `{"e":1}`, "application/json", 429},
		{"/v1/x", stream, "text/event-stream", 200},
		{"/v1/x", `{"default":1}`, "application/json", 200},
		{"/v1/x?stream", "data: d\n\n", "text/event-stream", 200},
		{"/v1/chat/completions", `{"chat":1}`, "application/json", 200},
	} {
		resp, body := get(t, ctx, f.URL+tc.path)
		if resp.StatusCode != tc.wantStatus || body != tc.wantBody || resp.Header.Get("Content-Type") != tc.wantType {
			t.Errorf("%s: %d %q %q, want %d %q %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.wantStatus, tc.wantType, tc.wantBody)
		}
	}
	if got := f.Requests(); len(got) != 4 {
		t.Errorf("recorded %v, want the 4 provider requests", got)
	}
	f.KeepRequests(false)
	get(t, ctx, f.URL+"/v1/x")
	if got := f.Requests(); len(got) != 4 {
		t.Errorf("recorded %d with recording off", len(got))
	}
}

func TestFakeHoldReportsCancel(t *testing.T) {
	f := start(t)
	f.Push(Reply{SSE: true, Hold: true, Body: []byte("data: a\n\n")})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.URL+"/v1/held", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 9)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "data: a\n\n" {
		t.Fatalf("first event %q, %v", buf, err)
	}
	cancel()
	resp.Body.Close()
	select {
	case p := <-f.Cancelled():
		if p != "/v1/held" {
			t.Errorf("cancelled %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held response did not report its client leaving")
	}
}

// TestFakeStreamWritePattern reads a stream's raw chunked encoding: one chunk per event, or
// one for the whole body with Burst.
func TestFakeStreamWritePattern(t *testing.T) {
	stream := "data: a\r\n\r\ndata: b\n\ndata: c\n\n"
	for _, tc := range []struct {
		burst      bool
		wantChunks int
	}{{false, 3}, {true, 1}} {
		f := start(t)
		f.Push(Reply{SSE: true, Burst: tc.burst, Body: []byte(stream)})
		conn, err := net.Dial("tcp", net.JoinHostPort(f.Host, strconv.Itoa(f.Port)))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.WriteString(conn, "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		var raw []byte
		if err == nil {
			raw, err = io.ReadAll(conn)
		}
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(raw), "\r\n\r\n")
		if !ok {
			t.Fatalf("burst %v: no response head in %q", tc.burst, raw)
		}
		var chunks int
		var body strings.Builder
		for {
			line, after, ok := strings.Cut(rest, "\r\n")
			n, err := strconv.ParseInt(line, 16, 64)
			if !ok || err != nil || int64(len(after)) < n+2 {
				t.Fatalf("burst %v: bad chunk framing at %q", tc.burst, rest)
			}
			if n == 0 {
				break
			}
			chunks++
			body.WriteString(after[:n])
			rest = after[n+2:]
		}
		if chunks != tc.wantChunks || body.String() != stream {
			t.Errorf("burst %v: %d chunks %q, want %d chunks %q", tc.burst, chunks, body.String(), tc.wantChunks, stream)
		}
	}
}

func TestEventEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"data: a\r\n\r\ndata: b\r\n\r\n", 11},
		{"data: a\n\ndata: b\n\n", 9},
		{"data: a\r\n\ndata: b", 10},
		{"event: x\ndata: a\n\n", 18},
		{"event: x\r\ndata: a\r\n\r\n", 21},
		{"data: a\r\n", -1},
		{"data: a\n", -1},
		{"data: a", -1},
		{"", -1},
	} {
		if got := eventEnd([]byte(tc.in)); got != tc.want {
			t.Errorf("eventEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
