package h1

import (
	"container/list"
	"sync"
	"time"
)

// pool holds idle keep-alive connections per host:port, the most recent first out, bounded per
// host and in total (the oldest goes when the total is reached), each closed after idleTimeout.
type pool struct {
	mu          sync.Mutex
	byKey       map[string][]*conn
	lru         list.List // of *conn, the oldest idle first
	maxIdle     int       // 0: no total bound
	maxPerHost  int
	idleTimeout time.Duration // 0: none
}

func (p *pool) init(maxIdle, maxPerHost int, idleTimeout time.Duration) {
	if maxPerHost <= 0 {
		maxPerHost = 2 // net/http's DefaultMaxIdleConnsPerHost
	}
	p.byKey = map[string][]*conn{}
	p.maxIdle, p.maxPerHost, p.idleTimeout = maxIdle, maxPerHost, idleTimeout
}

// get takes the most recently used idle connection to key that is still open, nil if none.
func (p *pool) get(key string) *conn {
	for {
		p.mu.Lock()
		cs := p.byKey[key]
		if len(cs) == 0 {
			p.mu.Unlock()
			return nil
		}
		c := cs[len(cs)-1]
		cs[len(cs)-1] = nil
		p.byKey[key] = cs[:len(cs)-1]
		p.lru.Remove(c.elem)
		c.elem = nil
		expired := p.idleTimeout > 0 && time.Since(c.idleAt) > p.idleTimeout
		p.mu.Unlock()
		// The server may have closed it while it was idle (net/http's reader goroutine sees
		// that at once; here nobody reads an idle connection): look before using it.
		if expired || !c.open() {
			c.close()
			continue
		}
		c.reused = true
		return c
	}
}

// put makes c idle, or closes it when key has maxPerHost idle connections already.
func (p *pool) put(c *conn) {
	p.mu.Lock()
	cs := p.byKey[c.key]
	if len(cs) >= p.maxPerHost {
		p.mu.Unlock()
		c.close()
		return
	}
	var evict *conn
	if p.maxIdle > 0 && p.lru.Len() >= p.maxIdle {
		evict = p.lru.Front().Value.(*conn)
		p.removeLocked(evict)
		cs = p.byKey[c.key] // the evicted one may have been c.key's: its list is shorter now
	}
	p.byKey[c.key] = append(cs, c)
	c.elem = p.lru.PushBack(c)
	c.idleAt = time.Now()
	p.mu.Unlock()
	if evict != nil {
		evict.close()
	}
}

// watch gives c its idle timer, one per connection, set when it is made (never written after,
// so close may stop it from any goroutine): it closes the connection once it has been idle for
// idleTimeout, and otherwise re-arms.
func (p *pool) watch(c *conn) {
	if p.idleTimeout > 0 {
		c.timer = time.AfterFunc(p.idleTimeout, func() { p.expire(c) })
	}
}

func (p *pool) expire(c *conn) {
	p.mu.Lock()
	if c.elem == nil {
		// In use: re-armed for a whole timeout; should it go idle meanwhile, the next firing
		// re-arms it for what remains of its idle time.
		if !c.closed.Load() {
			c.timer.Reset(p.idleTimeout)
		}
		p.mu.Unlock()
		return
	}
	if left := p.idleTimeout - time.Since(c.idleAt); left > 0 {
		c.timer.Reset(left)
		p.mu.Unlock()
		return
	}
	p.removeLocked(c)
	p.mu.Unlock()
	c.close()
}

// removeLocked takes c out of the idle sets (the caller closes it).
func (p *pool) removeLocked(c *conn) {
	p.lru.Remove(c.elem)
	c.elem = nil
	cs := p.byKey[c.key]
	for i, x := range cs {
		if x == c {
			copy(cs[i:], cs[i+1:])
			cs[len(cs)-1] = nil
			cs = cs[:len(cs)-1]
			break
		}
	}
	if len(cs) == 0 {
		delete(p.byKey, c.key)
	} else {
		p.byKey[c.key] = cs
	}
}

func (p *pool) closeAll() {
	p.mu.Lock()
	var all []*conn
	for e := p.lru.Front(); e != nil; e = e.Next() {
		all = append(all, e.Value.(*conn))
	}
	for _, c := range all {
		p.removeLocked(c)
	}
	p.mu.Unlock()
	for _, c := range all {
		c.close()
	}
}
