package vllmsim

import "container/list"

// kvBlock is one paged KV block. Hashed blocks hold a full prompt block and can be reused by
// later requests with the same prefix; ref==0 hashed blocks stay resident (evictable, LRU).
type kvBlock struct {
	hash   uint64
	hashed bool
	ref    int
	elem   *list.Element
}

// kvCache is vLLM's block pool with automatic prefix caching, reduced to what affects latency:
// capacity, prefix hits and LRU eviction of unreferenced cached blocks.
type kvCache struct {
	total     int
	used      int // blocks with ref > 0
	cached    map[uint64]*kvBlock
	evictable *list.List // ref==0 hashed blocks, front = most recently used
}

func newKVCache(total int) *kvCache {
	return &kvCache{total: total, cached: make(map[uint64]*kvBlock), evictable: list.New()}
}

// lookup returns how many leading hashes are resident.
func (c *kvCache) lookup(hashes []uint64) int {
	n := 0
	for _, h := range hashes {
		if _, ok := c.cached[h]; !ok {
			break
		}
		n++
	}
	return n
}

// fits reports whether a sequence with these prompt hashes and total block need can be allocated now.
func (c *kvCache) fits(hashes []uint64, need int) bool {
	hit := c.lookup(hashes)
	pinFromEvictable := 0
	for _, h := range hashes[:hit] {
		if c.cached[h].ref == 0 {
			pinFromEvictable++
		}
	}
	return c.total-c.used-pinFromEvictable >= need-hit
}

// allocate pins the cached prefix and allocates the rest; the caller checked fits.
func (c *kvCache) allocate(hashes []uint64, need int) (blocks []*kvBlock, hit int) {
	hit = c.lookup(hashes)
	blocks = make([]*kvBlock, 0, need)
	for _, h := range hashes[:hit] {
		blocks = append(blocks, c.pin(c.cached[h]))
	}
	for i := hit; i < need; i++ {
		if i < len(hashes) {
			if b, ok := c.cached[hashes[i]]; ok {
				blocks = append(blocks, c.pin(b))
				continue
			}
			c.makeRoom()
			b := &kvBlock{hash: hashes[i], hashed: true, ref: 1}
			c.cached[b.hash] = b
			c.used++
			blocks = append(blocks, b)
			continue
		}
		c.makeRoom()
		c.used++
		blocks = append(blocks, &kvBlock{ref: 1})
	}
	return blocks, hit
}

func (c *kvCache) pin(b *kvBlock) *kvBlock {
	if b.ref == 0 {
		c.evictable.Remove(b.elem)
		b.elem = nil
		c.used++
	}
	b.ref++
	return b
}

// makeRoom evicts the least recently used unreferenced block when the pool is full.
func (c *kvCache) makeRoom() {
	if c.used+c.evictable.Len() < c.total {
		return
	}
	if back := c.evictable.Back(); back != nil {
		b := c.evictable.Remove(back).(*kvBlock)
		delete(c.cached, b.hash)
	}
}

// release drops a sequence's references. Blocks are pushed so that a prefix's first block is the
// most recently used: eviction takes the tails of prompts first, as vLLM does.
func (c *kvCache) release(blocks []*kvBlock) {
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		b.ref--
		if b.ref > 0 {
			continue
		}
		c.used--
		if b.hashed {
			b.elem = c.evictable.PushFront(b)
		}
	}
}

func (c *kvCache) usage() float64 {
	if c.total == 0 {
		return 0
	}
	return float64(c.used) / float64(c.total)
}
