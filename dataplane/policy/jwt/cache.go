package jwt

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"
)

const cacheShards = 16

// tokenCache remembers verified tokens by the SHA-256 of the raw token (the token itself is not
// kept), each until its exp, in sharded LRUs of bounded size.
type tokenCache struct {
	shards [cacheShards]cacheShard
	per    int
}

type cacheShard struct {
	mu  sync.Mutex
	m   map[[32]byte]*list.Element
	lru list.List
}

type cacheEntry struct {
	key    [32]byte
	claims Claims
	exp    time.Time
}

func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	c := &tokenCache{per: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]*list.Element)
	}
	return c
}

func (c *tokenCache) get(key [32]byte, now time.Time) (Claims, bool) {
	s := &c.shards[key[0]%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.m[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.exp) {
		s.lru.Remove(el)
		delete(s.m, key)
		return nil, false
	}
	s.lru.MoveToFront(el)
	return e.claims, true
}

func (c *tokenCache) put(key [32]byte, claims Claims, exp time.Time) {
	s := &c.shards[key[0]%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.m[key]; ok {
		s.lru.MoveToFront(el)
		return
	}
	for s.lru.Len() >= c.per {
		old := s.lru.Back()
		s.lru.Remove(old)
		delete(s.m, old.Value.(*cacheEntry).key)
	}
	s.m[key] = s.lru.PushFront(&cacheEntry{key: key, claims: claims, exp: exp})
}

// tokenKey hashes the token without copying it: Sum256 only reads its input.
func tokenKey(raw string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}
