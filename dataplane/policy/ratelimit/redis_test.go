package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/infergw/gwctl/internal/testenv"
)

func TestRedisSharedBudget(t *testing.T) {
	srv := testenv.StartRedis(t, 0)
	// Two replicas: each its own client and limiter, one Redis.
	var replicas []*Redis
	for range 2 {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { c.Close() })
		r, err := NewRedis(c, Limit{Requests: 7, Unit: time.Hour, Burst: 3}, RedisOptions{Name: "ns/policy/0", Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, r)
	}
	ctx := context.Background()
	allowed := 0
	var last Decision
	for i := range 30 {
		d, err := replicas[i%2].Allow(ctx, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		} else {
			last = d
		}
	}
	if allowed != 10 {
		t.Fatalf("two replicas admitted %d, want exactly the shared capacity 10", allowed)
	}
	// Rate 7/h: the next token comes every 514 s.
	if last.Limit != 10 || last.Remaining != 0 || last.RetryAfter < 500*time.Second || last.RetryAfter > 515*time.Second ||
		last.ResetAfter != last.RetryAfter {
		t.Fatalf("denial %+v", last)
	}

	// Denied keys are answered locally until their retry time: no Redis round trip per flood request.
	before := c0Calls(t, srv)
	for range 50 {
		if d, _ := replicas[0].Allow(ctx, "", 1); d.Allowed {
			t.Fatal("over-limit key admitted")
		}
	}
	if after := c0Calls(t, srv); after-before > 2 {
		t.Fatalf("flood of 50 denied requests made %d Redis calls", after-before)
	}

	// Per-client keys are independent budgets.
	for _, key := range []string{"alice", "bob"} {
		n := 0
		for range 12 {
			if d, _ := replicas[0].Allow(ctx, key, 1); d.Allowed {
				n++
			}
		}
		if n != 10 {
			t.Fatalf("key %s admitted %d, want 10", key, n)
		}
	}

	// Token limits: admission at cost 0 until the shared bucket is in debt.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	tok, _ := NewRedis(c, Limit{Tokens: 1000, Unit: time.Hour}, RedisOptions{Name: "ns/policy/tokens", Timeout: time.Second})
	if d, _ := tok.Allow(ctx, "", 0); !d.Allowed {
		t.Fatal("full token bucket refused")
	}
	if err := tok.Charge(ctx, "", 1500); err != nil {
		t.Fatal(err)
	}
	if d, _ := tok.Allow(ctx, "", 0); d.Allowed {
		t.Fatalf("in debt but admitted: %+v", d)
	}
}

func TestRedisDown(t *testing.T) {
	for _, mode := range []FailureMode{FailOpen, FailClosed} {
		t.Run(string(mode), func(t *testing.T) {
			srv := testenv.StartRedis(t, 0)
			c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
			defer c.Close()
			reg := prometheus.NewRegistry()
			var logs bytes.Buffer
			fallback, _ := NewLocal(FallbackLimit(Limit{Requests: 4, Unit: time.Hour}, 2))
			r, err := NewRedis(c, Limit{Requests: 4, Unit: time.Hour}, RedisOptions{
				Name: "down/" + string(mode), FailureMode: mode, Fallback: fallback, Timeout: 200 * time.Millisecond,
				Registerer: reg, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if d, err := r.Allow(ctx, "", 1); err != nil || !d.Allowed {
				t.Fatalf("healthy: %+v %v", d, err)
			}
			srv.Stop()
			admittedDown := 0
			for range 5 {
				d, err := r.Allow(ctx, "", 1)
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("want ErrUnavailable, got %v", err)
				}
				if d.Allowed {
					admittedDown++
				}
			}
			want := 0
			if mode == FailOpen {
				want = 2 // the fallback: 4 ÷ 2 replicas
			}
			if admittedDown != want {
				t.Fatalf("admitted %d with Redis down, want %d", admittedDown, want)
			}
			if got := testutil.ToFloat64(r.failures); got != 5 {
				t.Fatalf("failure metric %v, want 5", got)
			}
			h := Middleware([]Rule{{Limiter: r}}, Options{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://gw.test/", nil))
			wantStatus := 429 // FailOpen: the fallback's 2 are used up
			if mode == FailClosed {
				wantStatus = 503
			}
			if w.Code != wantStatus {
				t.Fatalf("middleware with Redis down: %d, want %d", w.Code, wantStatus)
			}
			if n := strings.Count(logs.String(), "shared rate limit unavailable"); n != 1 {
				t.Fatalf("%d outage log lines, want 1 per transition:\n%s", n, logs.String())
			}
		})
	}
}

// c0Calls is the number of EVALSHA calls the server has seen.
func c0Calls(t *testing.T, srv *testenv.Redis) int64 {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_evalsha:calls="); ok {
			var n int64
			fmt.Sscanf(rest, "%d", &n)
			return n
		}
	}
	return 0
}
