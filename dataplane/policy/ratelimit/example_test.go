package ratelimit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/infergw/gwctl/dataplane/policy/ratelimit"
)

// An AgentgatewayPolicy rateLimit.local item {requests: 2, unit: Minutes, burst: 1} becomes one
// Local bucket per policy, shared by every client, wired in front of the backend handler.
func ExampleMiddleware() {
	unit, _ := ratelimit.UnitFromCRD("Minutes")
	bucket, err := ratelimit.NewLocal(ratelimit.Limit{Requests: 2, Unit: unit, Burst: 1})
	if err != nil {
		panic(err)
	}
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := ratelimit.Middleware([]ratelimit.Rule{{Limiter: bucket}}, ratelimit.Options{})(backend)
	for range 4 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))
		fmt.Printf("%d limit=%q remaining=%q\n", w.Code, w.Header().Get("x-ratelimit-limit"), w.Header().Get("x-ratelimit-remaining"))
	}
	// Output:
	// 200 limit="" remaining=""
	// 200 limit="" remaining=""
	// 200 limit="" remaining=""
	// 429 limit="3" remaining="0"
}
