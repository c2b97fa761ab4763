package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	expired, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	gone, cancel2 := context.WithCancel(context.Background())
	cancel2()
	bg := context.Background()
	cases := []struct {
		ctx  context.Context
		err  error
		want Cause
	}{
		{bg, fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1}), CauseBodyTooLarge},
		{expired, context.DeadlineExceeded, CauseTimeout},
		{gone, context.Canceled, CauseCanceled},
		{bg, &net.OpError{Op: "dial", Err: errors.New("connection refused")}, CauseConnect},
		{bg, &net.DNSError{Err: "no such host"}, CauseConnect},
		{bg, errors.New("unexpected EOF"), CauseProtocol},
	}
	for _, tc := range cases {
		if got := Classify(tc.ctx, tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// TestWriteErrorIsJSON: the body is OpenAI's error shape, code a string or null (OpenAI's type;
// it was the HTTP status as a number before), param null.
func TestWriteErrorIsJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, 502, "bad \"upstream\"\n\x01")
	var body struct {
		Error struct {
			Message, Type string
			Param, Code   *string
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("not OpenAI's error shape: %v: %s", err, w.Body)
	}
	if w.Code != 502 || body.Error.Code != nil || body.Error.Param != nil || body.Error.Type != "server_error" || body.Error.Message != "bad \"upstream\"\n\x01" {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if !strings.Contains(w.Body.String(), `"param":null,"code":null`) {
		t.Errorf("param and code are not null: %s", w.Body)
	}
}

func TestConnectFailureIs503(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var cause Cause
	h := New(addr, Options{OnError: func(c Cause) { cause = c }})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 503 || cause != CauseConnect {
		t.Fatalf("got %d, cause %s", w.Code, cause)
	}
}
