package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/infergw/gwctl/internal/testenv"
)

// BenchmarkLocalAllow is one local admission decision.
func BenchmarkLocalAllow(b *testing.B) {
	l, _ := NewLocal(Limit{Requests: 1 << 40, Unit: time.Second})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = l.Allow(ctx, "", 1)
	}
}

// BenchmarkLocalAllowParallel is the same bucket hit from every core.
func BenchmarkLocalAllowParallel(b *testing.B) {
	l, _ := NewLocal(Limit{Requests: 1 << 40, Unit: time.Second})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = l.Allow(ctx, "", 1)
		}
	})
}

// BenchmarkKeyedAllow is a per-client decision (hash, LRU touch, bucket).
func BenchmarkKeyedAllow(b *testing.B) {
	k, _ := NewKeyed(Limit{Requests: 1 << 40, Unit: time.Second}, 0)
	ctx := context.Background()
	keys := []string{"alice", "bob", "carol", "dave"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = k.Allow(ctx, keys[i&3], 1)
		i++
	}
}

// BenchmarkRedisAllow is one GCRA round trip to a loopback redis-server.
func BenchmarkRedisAllow(b *testing.B) {
	srv := testenv.StartRedis(b, 0)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	r, _ := NewRedis(c, Limit{Requests: 1 << 30, Unit: time.Second}, RedisOptions{Name: "bench", Timeout: time.Second})
	ctx := context.Background()
	if _, err := r.Allow(ctx, "", 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Allow(ctx, "", 1); err != nil {
			b.Fatal(err)
		}
	}
}
