package ratelimit

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

const keyedShards = 32

// Keyed keeps one local bucket per client key (a JWT claim, a header), bounded in memory: past
// maxKeys, the least recently used key's bucket is dropped (that client starts again from full).
// This is a dataplane extension; agentgateway v1.2.1 has no per-client limits.
type Keyed struct {
	p      params
	now    func() time.Time
	per    int
	shards [keyedShards]keyedShard
}

type keyedShard struct {
	mu  sync.Mutex
	m   map[string]*list.Element
	lru list.List
}

type keyedEntry struct {
	key string
	b   bucket
}

// NewKeyed returns a keyed limiter holding at most maxKeys buckets (0 means 100000).
func NewKeyed(l Limit, maxKeys int, opts ...Option) (*Keyed, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if maxKeys <= 0 {
		maxKeys = 100000
	}
	o := buildOptions(opts)
	k := &Keyed{p: newParams(l), now: o.now, per: max(1, maxKeys/keyedShards)}
	for i := range k.shards {
		k.shards[i].m = make(map[string]*list.Element)
	}
	return k, nil
}

func (k *Keyed) bucket(key string, now int64) *bucket {
	s := &k.shards[xxhash.Sum64String(key)%keyedShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.m[key]; ok {
		s.lru.MoveToFront(el)
		return &el.Value.(*keyedEntry).b
	}
	for s.lru.Len() >= k.per {
		old := s.lru.Back()
		s.lru.Remove(old)
		delete(s.m, old.Value.(*keyedEntry).key)
	}
	e := &keyedEntry{key: key}
	e.b.init(&k.p, now)
	s.m[key] = s.lru.PushFront(e)
	return &e.b
}

// Allow takes cost from key's bucket.
func (k *Keyed) Allow(_ context.Context, key string, cost int64) (Decision, error) {
	now := k.now().UnixNano()
	return k.bucket(key, now).take(&k.p, now, cost), nil
}

// Charge takes n from key's bucket, into debt if need be.
func (k *Keyed) Charge(_ context.Context, key string, n int64) error {
	now := k.now().UnixNano()
	k.bucket(key, now).charge(&k.p, now, n)
	return nil
}

// Len is the number of keys held.
func (k *Keyed) Len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}
