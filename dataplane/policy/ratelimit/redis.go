package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// FailureMode says what a shared limiter does when Redis cannot answer.
type FailureMode string

const (
	// FailOpen admits the request (through the fallback limiter when one is set). The default.
	FailOpen FailureMode = "FailOpen"
	// FailClosed refuses the request.
	FailClosed FailureMode = "FailClosed"
)

// ErrUnavailable wraps the Redis error when the shared limiter could not decide.
var ErrUnavailable = errors.New("ratelimit: shared limiter unavailable")

// ErrFailedClosed is ErrUnavailable under FailClosed: the request was refused for want of an
// answer (the middleware answers 503), not because the client is over its limit.
var ErrFailedClosed = fmt.Errorf("%w (fail closed)", ErrUnavailable)

// gcraScript is GCRA in one atomic step, on Redis' own clock (TIME), so replicas' clocks do not
// matter. KEYS[1]: the key. ARGV: emission interval T (µs), tolerance τ = capacity·T (µs), cost,
// mode (0: admit cost if it fits; 1: charge cost unconditionally). Cost 0 in mode 0 admits while
// the bucket is not empty. Returns {allowed, remaining, retry_after_µs, reset_after_µs}, where
// reset_after is the time until the next token (0 when the bucket is full).
var gcraScript = redis.NewScript(`
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local force = ARGV[4] == "1"
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call("GET", KEYS[1]))
if tat == nil or tat < now then tat = now end
local newTat = tat + cost * T
local diff = now - (newTat - tau)
local ok
if force then
  ok = true
elseif cost == 0 then
  ok = diff > 0
else
  ok = diff >= 0
end
if ok then
  if cost > 0 then
    redis.call("SET", KEYS[1], string.format("%d", newTat), "PX", math.ceil((newTat - now) / 1000) + 1)
  end
  tat = newTat
end
local credit = now - (tat - tau)
local whole = math.floor(credit / T)
local reset = 0
if tat > now then reset = (whole + 1) * T - credit end
local remaining = whole
if remaining < 0 then remaining = 0 end
local retry = 0
if not ok then retry = -diff end
return {ok and 1 or 0, remaining, retry, reset}
`)

// RedisOptions configure a shared limiter.
type RedisOptions struct {
	// Name prefixes every key: "<namespace>/<policy>/<item>"; keys are "rl:<Name>[/<client key>]".
	Name string
	// FailureMode is what happens when Redis cannot answer; default FailOpen.
	FailureMode FailureMode
	// Fallback decides while Redis is down under FailOpen (e.g. NewLocal at capacity ÷ replicas);
	// nil admits everything.
	Fallback Limiter
	// Timeout bounds each Redis call; default 20 ms (Envoy's RLS default).
	Timeout    time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Redis is a limit shared by every replica that uses the same Redis and Name: GCRA with
// capacity requests+burst and rate requests per unit, the same numbers as the local bucket
// (refill is continuous instead of discrete).
type Redis struct {
	client   redis.Scripter
	o        RedisOptions
	capacity int64
	interval int64 // emission interval, µs
	failures prometheus.Counter

	mu       sync.Mutex
	degraded bool
	// denied remembers "over the limit until" per key: GCRA cannot admit a key before its
	// allowAt (other replicas only push it later), so floods skip Redis until then.
	denied map[string]time.Time
}

// maxDeniedKeys bounds the over-limit cache; past it the cache is emptied.
const maxDeniedKeys = 10000

// NewRedis returns a shared limiter over client (a *redis.Client, ClusterClient or Ring).
func NewRedis(client redis.Scripter, l Limit, o RedisOptions) (*Redis, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if o.Name == "" {
		return nil, errors.New("ratelimit: redis limiter needs a name")
	}
	switch o.FailureMode {
	case "":
		o.FailureMode = FailOpen
	case FailOpen, FailClosed:
	default:
		return nil, fmt.Errorf("ratelimit: failure mode %q: want FailOpen or FailClosed", o.FailureMode)
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Redis{client: client, o: o, capacity: l.Capacity(),
		interval: max(1, int64(l.Unit/time.Microsecond)/l.Rate()), denied: map[string]time.Time{}}
	c, err := failureCounter(o.Registerer)
	if err != nil {
		return nil, err
	}
	r.failures = c.WithLabelValues(o.Name, string(o.FailureMode))
	return r, nil
}

func (r *Redis) key(key string) string {
	if key == "" {
		return "rl:" + r.o.Name
	}
	return "rl:" + r.o.Name + "/" + key
}

func (r *Redis) run(ctx context.Context, key string, cost int64, force bool) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	mode := "0"
	if force {
		mode = "1"
	}
	res, err := gcraScript.Run(ctx, r.client, []string{r.key(key)}, r.interval, r.interval*r.capacity, cost, mode).Int64Slice()
	if err == nil && len(res) != 4 {
		err = fmt.Errorf("unexpected script result %v", res)
	}
	r.health(err)
	return res, err
}

// Allow asks Redis; when it cannot answer, FailOpen defers to the fallback (or admits) and
// FailClosed refuses, both returning an error wrapping ErrUnavailable.
func (r *Redis) Allow(ctx context.Context, key string, cost int64) (Decision, error) {
	now := time.Now()
	if d, ok := r.cachedDenial(key, cost, now); ok {
		return d, nil
	}
	res, err := r.run(ctx, key, cost, false)
	if err != nil {
		if r.o.FailureMode == FailClosed {
			err = fmt.Errorf("%w: %s: %w", ErrFailedClosed, r.o.Name, err)
			return Decision{Allowed: false, Limit: r.capacity, RetryAfter: time.Second, ResetAfter: time.Second}, err
		}
		err = fmt.Errorf("%w: %s: %w", ErrUnavailable, r.o.Name, err)
		if r.o.Fallback != nil {
			d, ferr := r.o.Fallback.Allow(ctx, key, cost)
			if ferr == nil {
				return d, err
			}
		}
		return Decision{Allowed: true, Limit: r.capacity, Remaining: r.capacity}, err
	}
	d := Decision{
		Allowed:    res[0] == 1,
		Limit:      r.capacity,
		Remaining:  res[1],
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		ResetAfter: time.Duration(res[3]) * time.Microsecond,
	}
	if !d.Allowed && cost == 1 {
		r.mu.Lock()
		if len(r.denied) >= maxDeniedKeys {
			clear(r.denied)
		}
		r.denied[key] = now.Add(d.RetryAfter)
		r.mu.Unlock()
	}
	return d, nil
}

// cachedDenial answers a single request for a key known to be over the limit without Redis.
func (r *Redis) cachedDenial(key string, cost int64, now time.Time) (Decision, bool) {
	if cost != 1 {
		return Decision{}, false
	}
	r.mu.Lock()
	until, ok := r.denied[key]
	if ok && !now.Before(until) {
		delete(r.denied, key)
		ok = false
	}
	r.mu.Unlock()
	if !ok {
		return Decision{}, false
	}
	wait := until.Sub(now)
	return Decision{Allowed: false, Limit: r.capacity, RetryAfter: wait, ResetAfter: wait}, true
}

// Charge takes n tokens from key's shared budget, into debt if need be.
func (r *Redis) Charge(ctx context.Context, key string, n int64) error {
	if _, err := r.run(ctx, key, n, true); err != nil {
		if r.o.Fallback != nil {
			_ = r.o.Fallback.Charge(ctx, key, n)
		}
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, r.o.Name, err)
	}
	return nil
}

// health counts failures and logs once per transition between healthy and degraded.
func (r *Redis) health(err error) {
	if err != nil {
		r.failures.Inc()
	}
	r.mu.Lock()
	changed := r.degraded != (err != nil)
	r.degraded = err != nil
	r.mu.Unlock()
	if !changed {
		return
	}
	if err != nil {
		r.o.Logger.Error("shared rate limit unavailable", "limiter", r.o.Name, "failure_mode", string(r.o.FailureMode), "error", err)
	} else {
		r.o.Logger.Info("shared rate limit available again", "limiter", r.o.Name)
	}
}

func failureCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ratelimit_shared_failures_total",
		Help: "Calls to the shared (Redis) rate limiter that failed, by limiter and failure mode.",
	}, []string{"limiter", "failure_mode"})
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("ratelimit: registering metrics: %w", err)
	}
	return c, nil
}

// FallbackLimit is l divided among replicas (at least 1 per unit), for a fail-open fallback.
func FallbackLimit(l Limit, replicas int) Limit {
	if replicas <= 1 {
		return l
	}
	n := int64(replicas)
	div := func(v int64) int64 { return int64(math.Ceil(float64(v) / float64(n))) }
	out := l
	if l.IsTokens() {
		out.Tokens = max(1, div(l.Tokens))
	} else {
		out.Requests = max(1, div(l.Requests))
	}
	out.Burst = div(l.Burst)
	return out
}
