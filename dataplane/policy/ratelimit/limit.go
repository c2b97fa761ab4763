// Package ratelimit enforces spec.traffic.rateLimit: agentgateway v1.2.1 local token buckets
// (capacity requests+burst, starting full, refilled in discrete steps), per-client keyed buckets,
// and a limit shared by every replica through Redis (GCRA), as HTTP middleware.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit mirrors one spec.traffic.rateLimit.local[] item.
type Limit struct {
	// Requests is HTTP requests per Unit; exactly one of Requests and Tokens is set.
	Requests int64
	// Tokens is LLM tokens (input + output) per Unit, charged after the response.
	Tokens int64
	// Unit is time.Second, time.Minute or time.Hour (Seconds, Minutes, Hours in the CRD).
	Unit time.Duration
	// Burst is added to the bucket: capacity = Requests (or Tokens) + Burst. Negative is refused.
	Burst int64
}

// IsTokens reports whether the limit counts LLM tokens rather than requests.
func (l Limit) IsTokens() bool { return l.Tokens > 0 }

// Rate is the refill per Unit.
func (l Limit) Rate() int64 { return l.Requests + l.Tokens }

// Capacity is the bucket size, rate + burst.
func (l Limit) Capacity() int64 { return l.Rate() + l.Burst }

// Validate reports what is wrong with l, as the compile step should before serving it.
func (l Limit) Validate() error {
	switch {
	case (l.Requests > 0) == (l.Tokens > 0):
		return errors.New("ratelimit: exactly one of requests and tokens must be set (and positive)")
	case l.Unit <= 0:
		return errors.New("ratelimit: unit must be positive")
	case l.Burst < 0:
		// agentgateway computes requests + uint64(burst), which wraps around.
		return fmt.Errorf("ratelimit: burst %d is negative", l.Burst)
	}
	return nil
}

// UnitFromCRD maps the CRD's unit names to durations.
func UnitFromCRD(unit string) (time.Duration, error) {
	switch unit {
	case "Seconds":
		return time.Second, nil
	case "Minutes":
		return time.Minute, nil
	case "Hours":
		return time.Hour, nil
	}
	return 0, fmt.Errorf("ratelimit: unit %q: want Seconds, Minutes or Hours", unit)
}

// Decision is the outcome of one admission check.
type Decision struct {
	Allowed bool
	// Limit is the bucket capacity (x-ratelimit-limit).
	Limit int64
	// Remaining is what is left after this request (x-ratelimit-remaining), never negative.
	Remaining int64
	// RetryAfter is how long until the request would be admitted (denials only).
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket next gains capacity.
	ResetAfter time.Duration
}

// Limiter admits requests against a budget. key selects a per-client bucket where the
// implementation keeps several; cost 0 asks "is the bucket out of debt?" without taking anything
// (token limits, charged later through Charge).
type Limiter interface {
	Allow(ctx context.Context, key string, cost int64) (Decision, error)
	// Charge takes n from key's budget even past zero (LLM tokens used by a response).
	Charge(ctx context.Context, key string, n int64) error
}
