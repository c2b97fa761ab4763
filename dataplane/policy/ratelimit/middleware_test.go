package ratelimit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/policy/jwt"
)

func serve(h http.Handler, mut func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://gw.test/v1/chat/completions", nil)
	if mut != nil {
		mut(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddleware429(t *testing.T) {
	clk := newClock()
	l, _ := NewLocal(Limit{Requests: 2, Unit: time.Minute}, WithClock(clk.Now))
	h := Middleware([]Rule{{Limiter: l}}, Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for i := range 2 {
		if w := serve(h, nil); w.Code != 200 || w.Header().Get("x-ratelimit-limit") != "" {
			t.Fatalf("request %d: %d, headers %v (v1.2.1 sets none on allowed responses)", i, w.Code, w.Header())
		}
	}
	clk.Add(15 * time.Second)
	w := serve(h, nil)
	if w.Code != 429 {
		t.Fatalf("third request: %d", w.Code)
	}
	want := map[string]string{"x-ratelimit-limit": "2", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "45", "retry-after": "45"}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	var body struct {
		Error struct {
			Type, Code string
			Param      *string
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Type != "rate_limit_error" || body.Error.Code != "rate_limit_exceeded" || body.Error.Param != nil {
		t.Fatalf("body %s", w.Body)
	}
}

func TestMiddlewareJSONRPCAndHeadersOnAllowed(t *testing.T) {
	l, _ := NewLocal(Limit{Requests: 1, Unit: time.Hour})
	h := Middleware([]Rule{{Limiter: l}}, Options{WriteError: JSONRPCErrorWriter(-32000), HeadersOnAllowed: true})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	w := serve(h, nil)
	if w.Header().Get("x-ratelimit-remaining") != "0" || w.Header().Get("x-ratelimit-limit") != "1" {
		t.Fatalf("allowed headers %v", w.Header())
	}
	w = serve(h, nil)
	var body struct {
		JSONRPC string
		Error   struct{ Code int }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 429 || body.Error.Code != -32000 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestMiddlewareTokensCharge(t *testing.T) {
	clk := newClock()
	tokens, _ := NewLocal(Limit{Tokens: 1000, Unit: time.Minute}, WithClock(clk.Now))
	usage := int64(600)
	h := Middleware([]Rule{{Limiter: tokens, Tokens: true}}, Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		if !Charge(r.Context(), usage) {
			t.Error("no token limit to charge")
		}
	}))
	for i, want := range []int{200, 200, 429} { // 1000 → 400 → -200 (debt) → refused
		if w := serve(h, nil); w.Code != want {
			t.Fatalf("request %d: %d, want %d", i, w.Code, want)
		}
	}
	clk.Add(time.Minute)
	if w := serve(h, nil); w.Code != 200 {
		t.Fatalf("after refill: %d", w.Code)
	}
}

func TestMiddlewarePerClientKeys(t *testing.T) {
	keyed, _ := NewKeyed(Limit{Requests: 1, Unit: time.Hour}, 0)
	byHeader, _ := NewKeyed(Limit{Requests: 1, Unit: time.Hour}, 0)
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	claim := Middleware([]Rule{{Limiter: keyed, Key: ClaimKey("sub")}}, Options{})(ok)
	header := Middleware([]Rule{{Limiter: byHeader, Key: HeaderKey("x-api-key")}}, Options{})(ok)
	as := func(sub string) func(*http.Request) {
		return func(r *http.Request) { *r = *r.WithContext(jwt.WithClaims(r.Context(), jwt.Claims{"sub": sub})) }
	}
	key := func(k string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("x-api-key", k) } }
	steps := []struct {
		h    http.Handler
		mut  func(*http.Request)
		want int
	}{
		{claim, as("alice"), 200}, {claim, as("alice"), 429}, {claim, as("bob"), 200},
		{header, key("k1"), 200}, {header, key("k1"), 429}, {header, key("k2"), 200},
	}
	for i, s := range steps {
		if w := serve(s.h, s.mut); w.Code != s.want {
			t.Fatalf("step %d: %d, want %d", i, w.Code, s.want)
		}
	}
}
