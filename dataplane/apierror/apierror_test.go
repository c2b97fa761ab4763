package apierror

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/infergw/gwctl/dataplane/jsonstrict"
)

func TestWrite(t *testing.T) {
	cases := []struct {
		name   string
		e      *Error
		status int
		body   string
		header map[string]string
	}{
		{"param and null code", InvalidRequest("n", "n=%d unsupported", 2), 400,
			`{"error":{"message":"n=2 unsupported","type":"invalid_request_error","param":"n","code":null}}`, nil},
		{"string code and Retry-After", &Error{Status: 503, Type: ErrServer, Code: "overloaded_error", Message: "busy", RetryAfter: "4"}, 503,
			`{"error":{"message":"busy","type":"server_error","param":null,"code":"overloaded_error"}}`, map[string]string{"Retry-After": "4"}},
		{"no status is 500", &Error{Type: ErrServer, Message: "x"}, 500,
			`{"error":{"message":"x","type":"server_error","param":null,"code":null}}`, nil},
		{"escaped, HTML kept, invalid UTF-8 replaced", &Error{Status: 502, Type: "api_error", Message: "bad \"up\"\n\x01 <b>&\xff"}, 502,
			`{"error":{"message":"bad \"up\"\n\u0001 <b>&\ufffd","type":"api_error","param":null,"code":null}}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("WWW-Authenticate", "Bearer") // set by the caller: kept
			Write(rec, tc.e)
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Fatalf("got %d %s\nwant %d %s", rec.Code, rec.Body, tc.status, tc.body)
			}
			want := map[string]string{"Content-Type": "application/json", "X-Content-Type-Options": "nosniff",
				"Content-Length": strconv.Itoa(len(tc.body)), "WWW-Authenticate": "Bearer"}
			for k, v := range tc.header {
				want[k] = v
			}
			for k, v := range want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestOpenAIClientReadsIt: the official OpenAI client decodes every field of what Write answers.
func TestOpenAIClientReadsIt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Write(w, &Error{Status: http.StatusTooManyRequests, Type: ErrRateLimit, Param: "model", Code: "rate_limit_exceeded", Message: "slow down <now>"})
	}))
	defer srv.Close()
	c := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test"), option.WithMaxRetries(0))
	_, err := c.Models.Get(context.Background(), "m")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an *openai.Error", err)
	}
	if apiErr.StatusCode != 429 || apiErr.Type != ErrRateLimit || apiErr.Param != "model" || apiErr.Code != "rate_limit_exceeded" ||
		apiErr.Message != "slow down <now>" || !apiErr.JSON.Code.Valid() || !apiErr.JSON.Param.Valid() {
		t.Fatalf("decoded %d %q %q %q %q (code valid %v)", apiErr.StatusCode, apiErr.Type, apiErr.Param, apiErr.Code, apiErr.Message, apiErr.JSON.Code.Valid())
	}
}

func TestBody(t *testing.T) {
	cases := []struct {
		body, param, prefix string
	}{
		{`{"model":"a","model":"b"}`, "model", "the request body is ambiguous: "},
		{`{"Model":"a","model":"b"}`, "model", "the request body is ambiguous: "},
		{`{"model":`, "", "request body is not valid JSON: "},
	}
	for _, tc := range cases {
		err := jsonstrict.Check([]byte(tc.body))
		if err == nil {
			t.Fatalf("%s: jsonstrict accepted it", tc.body)
		}
		e := Body(err)
		if e.Status != 400 || e.Type != ErrInvalidRequest || e.Param != tc.param || !strings.HasPrefix(e.Message, tc.prefix) {
			t.Errorf("%s: %+v", tc.body, e)
		}
	}
}

func TestWriteRPC(t *testing.T) {
	for _, tc := range []struct {
		id   string
		e    RPCError
		want string
	}{
		{"", RPCError{Code: -32000, Message: "rate limited"}, `{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"rate limited"}}`},
		{`"a"`, RPCError{Code: -32602, Message: "bad <x>", Data: json.RawMessage(`{"k":1}`)}, `{"jsonrpc":"2.0","id":"a","error":{"code":-32602,"message":"bad \u003cx\u003e","data":{"k":1}}}`},
	} {
		w := httptest.NewRecorder()
		WriteRPC(w, 429, json.RawMessage(tc.id), &tc.e)
		if w.Code != 429 || w.Header().Get("Content-Type") != "application/json" || w.Body.String() != tc.want {
			t.Errorf("id %q: got %d %q %s, want 429 application/json %s", tc.id, w.Code, w.Header().Get("Content-Type"), w.Body, tc.want)
		}
	}
}
