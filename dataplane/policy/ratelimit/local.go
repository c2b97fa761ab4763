package ratelimit

import (
	"context"
	"time"
)

// Option configures a local limiter.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func buildOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Local is one bucket shared by every request it sees: agentgateway's "one bucket per policy per
// replica". The key passed to Allow and Charge is ignored.
type Local struct {
	p   params
	b   bucket
	now func() time.Time
}

// NewLocal returns a full bucket for l.
func NewLocal(l Limit, opts ...Option) (*Local, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	lim := &Local{p: newParams(l), now: o.now}
	lim.b.init(&lim.p, o.now().UnixNano())
	return lim, nil
}

// Allow takes cost from the bucket if it has that much (cost 0: admits while it is above zero).
func (l *Local) Allow(_ context.Context, _ string, cost int64) (Decision, error) {
	return l.b.take(&l.p, l.now().UnixNano(), cost), nil
}

// Charge takes n from the bucket, into debt if need be.
func (l *Local) Charge(_ context.Context, _ string, n int64) error {
	l.b.charge(&l.p, l.now().UnixNano(), n)
	return nil
}
