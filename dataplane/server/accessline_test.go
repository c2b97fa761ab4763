package server

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// slogLine is the line slog.JSONHandler writes for the request's access record.
func slogLine(t testing.TB, tm time.Time, r *http.Request, rec *recorder, status int, d time.Duration) string {
	t.Helper()
	var buf bytes.Buffer
	if err := slog.NewJSONHandler(&buf, nil).Handle(context.Background(), accessRecord(tm, r, rec, status, d)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func accessRequest(method, host, path, proto, remote, id string) *http.Request {
	r := &http.Request{Method: method, Host: host, URL: &url.URL{Path: path}, Proto: proto, RemoteAddr: remote, Header: http.Header{}}
	if id != "" {
		r.Header.Set("X-Request-Id", id)
	}
	return r
}

// TestAccessLineMatchesSlog: the hand-written line is slog.JSONHandler's, byte for byte, or it
// declines (and slog writes the line).
func TestAccessLineMatchesSlog(t *testing.T) {
	tm := time.Date(2026, 12, 7, 6, 29, 46, 299123400, time.UTC)
	for _, tc := range []struct {
		name     string
		r        *http.Request
		rec      recorder
		status   int
		d        time.Duration
		declines bool
	}{
		{name: "plain", r: accessRequest("POST", "gw.example", "/v1/chat/completions", "HTTP/1.1", "10.0.0.1:5000", "abc"),
			rec: recorder{route: "ns/r/rule0", backend: "Service/ns/up:80", bytes: 1024}, status: 200, d: 1234567 * time.Nanosecond},
		{name: "empty values", r: accessRequest("GET", "", "/", "HTTP/2.0", "", ""), status: 499},
		{name: "escapes", r: accessRequest("GET", "h\"o\\st<>&", "/a b/é/\u2028/\u2029/\x7f", "HTTP/1.1", "[::1]:1", "id\twith\ttabs\x01\n\r"),
			rec: recorder{route: "ns/\"r\"", backend: "\xff\xfe bad utf8"}, status: 502, d: time.Hour},
		{name: "zero and long durations", r: accessRequest("GET", "h", "/", "HTTP/1.1", "r", "i"), d: 0},
		{name: "sub-microsecond", r: accessRequest("GET", "h", "/", "HTTP/1.1", "r", "i"), d: 999},
		{name: "llm fields", r: accessRequest("POST", "h", "/v1/chat/completions", "HTTP/1.1", "r", "i"), status: 200, d: 42 * time.Millisecond,
			rec: recorder{attrs: []slog.Attr{slog.String("provider", "anthropic"), slog.String("model", "claude-\"x\""), slog.Int("prompt_tokens", 12),
				slog.Int64("completion_tokens", -3), slog.Uint64("u", math.MaxUint64), slog.Bool("stream", true), slog.Float64("cost", 1.5e-7),
				slog.Float64("big", 1e21), slog.Float64("plain", 123456.789), slog.Float64("neg", -0.0005), slog.Float64("zero", 0)}}},
		{name: "backspace declines", r: accessRequest("GET", "h", "/", "HTTP/1.1", "r", "a\bb"), declines: true},
		{name: "form feed in an attr declines", r: accessRequest("GET", "h", "/", "HTTP/1.1", "r", "i"),
			rec: recorder{attrs: []slog.Attr{slog.String("model", "a\fb")}}, declines: true},
		{name: "duration attr declines", r: accessRequest("GET", "h", "/", "HTTP/1.1", "r", "i"),
			rec: recorder{attrs: []slog.Attr{slog.Duration("wait", time.Second)}}, declines: true},
		{name: "NaN declines", r: accessRequest("GET", "h", "/", "HTTP/1.1", "r", "i"),
			rec: recorder{attrs: []slog.Attr{slog.Float64("x", math.NaN())}}, declines: true},
		{name: "empty key declines", r: accessRequest("GET", "h", "/", "HTTP/1.1", "r", "i"),
			rec: recorder{attrs: []slog.Attr{{}, slog.String("", "v")}}, declines: true},
		{name: "group declines", r: accessRequest("GET", "h", "/", "HTTP/1.1", "r", "i"),
			rec: recorder{attrs: []slog.Attr{slog.Group("g", slog.Int("a", 1))}}, declines: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := appendAccessLine(nil, tm, tc.r, &tc.rec, tc.status, tc.d)
			if ok == tc.declines {
				t.Fatalf("ok = %v, want %v", ok, !tc.declines)
			}
			if want := slogLine(t, tm, tc.r, &tc.rec, tc.status, tc.d); ok && string(got) != want {
				t.Errorf("line\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestJSONAccessLogThroughServer: a server given NewJSONAccessLog writes the line slog does, and
// the logger still works as a slog logger (other lines, level).
func TestJSONAccessLogThroughServer(t *testing.T) {
	var fast, slow bytes.Buffer
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(interface{ SetRoute(string, string) }).SetRoute("ns/r/rule0", "Service/ns/a:80")
		w.(interface{ SetLogAttrs(...slog.Attr) }).SetLogAttrs(slog.String("model", "m"), slog.Int("prompt_tokens", 3))
		_, _ = w.Write([]byte("hello"))
	})
	for _, out := range []*slog.Logger{NewJSONAccessLog(&fast, slog.LevelInfo), slog.New(slog.NewJSONHandler(&slow, nil))} {
		s := New(Options{AccessLog: out})
		s.Swap(h, nil)
		r := accessRequest("POST", "gw", "/v1/x", "HTTP/1.1", "127.0.0.1:1", "rid")
		r.URL.RawQuery, r.RequestURI = "q=1", "/v1/x?q=1"
		s.ServeHTTP(&sink{h: http.Header{}}, r)
	}
	// The times and durations differ: compare what follows "duration_ms" and what precedes "time".
	cut := func(s string) (string, string) {
		_, rest, _ := strings.Cut(s, `"level"`)
		head, _, _ := strings.Cut(rest, `"duration_ms"`)
		_, tail, _ := strings.Cut(rest, `"bytes"`)
		return head, tail
	}
	fh, ft := cut(fast.String())
	sh, st := cut(slow.String())
	if fh != sh || ft != st || fh == "" || ft == "" {
		t.Fatalf("server's lines differ:\nfast %s\nslow %s", fast.String(), slow.String())
	}
	fast.Reset()
	l := NewJSONAccessLog(&fast, slog.LevelWarn)
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if got := fast.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown","k":"v"`) {
		t.Fatalf("as a logger: %q", got)
	}
}

// FuzzAccessLine: for any request values and handler fields the hand-written line is slog's, or
// it declines.
func FuzzAccessLine(f *testing.F) {
	f.Add("POST", "host", "/v1/chat", "id", "model", int64(200), int64(1234), 0.5)
	f.Add("G\"ET", "h\u2028", "/\xff", "\x00\b\f", "m\u2029<>&", int64(-1), int64(0), 1e-9)
	f.Fuzz(func(t *testing.T, method, host, path, id, model string, status, micros int64, f float64) {
		tm := time.Unix(0, micros*1013).UTC()
		r := accessRequest(method, host, path, "HTTP/1.1", host, "")
		r.Header["X-Request-Id"] = []string{id}
		rec := recorder{route: model, backend: path, bytes: status, attrs: []slog.Attr{slog.String(model+"k", model), slog.Float64("f", f), slog.Int64("n", micros)}}
		got, ok := appendAccessLine(nil, tm, r, &rec, int(status), time.Duration(micros)*time.Microsecond)
		if !ok {
			return
		}
		if want := slogLine(t, tm, r, &rec, int(status), time.Duration(micros)*time.Microsecond); string(got) != want {
			t.Errorf("line\n got %s\nwant %s", got, want)
		}
	})
}

// appendJSONString declines exactly the strings with \b or \f, which slog escapes otherwise.
func TestAppendJSONStringDeclines(t *testing.T) {
	for s, want := range map[string]bool{"": true, "plain": true, "\x00\n\t\"é": true, "a\bb": false, "\f": false, "long string ending in\b": false} {
		b, ok := appendJSONString(nil, s, true)
		if ok != want {
			t.Errorf("%q: ok %v, want %v", s, ok, want)
		}
		if !want {
			continue
		}
		if _, ok := appendJSONString(b, s, false); ok {
			t.Errorf("%q: a declined line turned ok", s)
		}
	}
}
