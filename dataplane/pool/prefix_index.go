package pool

import "sync"

// prefixIndex is the approximate prefix cache: per endpoint slot an LRU of block hashes the
// picker sent there, and a map from hash to the slots holding it. It learns only from the
// picker's own decisions.
//
// learn inserts a prompt's blocks last-first, so block i of a chain is always used more recently
// than block i+1 and LRU eviction takes chains from the tail: what a slot holds of any chain is a
// prefix of it. match relies on that to binary-search the walk instead of probing every block;
// the counts equal GIE's (held blocks among those walked until the first block nobody holds).
type prefixIndex struct {
	mu     sync.Mutex
	blocks map[uint64]*blockEntry
	lrus   []*blockLRU // by slot; nil when the slot is free
	free   []int
	ents   []*blockEntry // match scratch: nil = not looked up, absent = looked up and missing
	spare  []*blockEntry
}

// blockEntry lists the slots holding one block and where the block sits in each slot's LRU.
type blockEntry struct {
	hash uint64
	refs []blockRef
}

type blockRef struct{ slot, node int32 }

var absent = &blockEntry{}

func newPrefixIndex() *prefixIndex { return &prefixIndex{blocks: make(map[uint64]*blockEntry)} }

// addSlot allocates a slot for a new endpoint.
func (x *prefixIndex) addSlot(capacity int) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	if n := len(x.free); n > 0 {
		s := x.free[n-1]
		x.free = x.free[:n-1]
		x.lrus[s] = newBlockLRU(capacity)
		return s
	}
	x.lrus = append(x.lrus, newBlockLRU(capacity))
	return len(x.lrus) - 1
}

// removeSlot forgets everything learned for an endpoint that left the pool.
func (x *prefixIndex) removeSlot(slot int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	l := x.lrus[slot]
	if l == nil {
		return
	}
	for l.size > 0 {
		x.dropRef(l.evict(), int32(slot))
	}
	x.lrus[slot] = nil
	x.free = append(x.free, slot)
}

func (x *prefixIndex) setCapacity(slot, capacity int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if l := x.lrus[slot]; l != nil && l.capacity != capacity && capacity > 0 {
		l.capacity = capacity
		for l.size > l.capacity {
			x.dropRef(l.evict(), int32(slot))
		}
	}
}

// dropRef removes slot from an entry and deletes the entry when nobody holds the block any more.
func (x *prefixIndex) dropRef(e *blockEntry, slot int32) {
	for i, r := range e.refs {
		if r.slot == slot {
			e.refs[i] = e.refs[len(e.refs)-1]
			e.refs = e.refs[:len(e.refs)-1]
			break
		}
	}
	if len(e.refs) == 0 {
		delete(x.blocks, e.hash)
		x.spare = append(x.spare, e)
	}
}

func (x *prefixIndex) entry(hashes []uint64, i int) *blockEntry {
	if e := x.ents[i]; e != nil {
		return e
	}
	e, ok := x.blocks[hashes[i]]
	if !ok {
		e = absent
	}
	x.ents[i] = e
	return e
}

func (e *blockEntry) holds(slot int32) bool {
	for _, r := range e.refs {
		if r.slot == slot {
			return true
		}
	}
	return false
}

// match sets counts[slot] to the number of leading blocks of hashes the slot holds.
func (x *prefixIndex) match(hashes []uint64, counts []int) []int {
	x.mu.Lock()
	defer x.mu.Unlock()
	if cap(counts) < len(x.lrus) {
		counts = make([]int, len(x.lrus))
	}
	counts = counts[:len(x.lrus)]
	clear(counts)
	if len(hashes) == 0 {
		return counts
	}
	if cap(x.ents) < len(hashes) {
		x.ents = make([]*blockEntry, len(hashes))
	}
	x.ents = x.ents[:len(hashes)]
	clear(x.ents)
	first := x.entry(hashes, 0)
	if first == absent {
		return counts
	}
	// walk = number of leading blocks somebody holds.
	lo, hi := 1, len(hashes) // entry(lo-1) present; find the largest such lo
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if x.entry(hashes, mid-1) != absent {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	walk := lo
	for _, r := range first.refs {
		lo, hi := 1, walk
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if e := x.entry(hashes, mid-1); e != absent && e.holds(r.slot) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		counts[r.slot] = lo
	}
	return counts
}

// learn records that the blocks were sent to slot, first blocks most recently used.
func (x *prefixIndex) learn(slot int, hashes []uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	l := x.lrus[slot]
	if l == nil {
		return
	}
	s := int32(slot)
	for i := len(hashes) - 1; i >= 0; i-- {
		h := hashes[i]
		e, ok := x.blocks[h]
		if ok {
			if node, held := e.nodeOf(s); held {
				l.moveToFront(node)
				continue
			}
		} else {
			e = x.newEntry(h)
			x.blocks[h] = e
		}
		if l.size >= l.capacity {
			x.dropRef(l.evict(), s) // never e: e is not in this slot's LRU
		}
		e.refs = append(e.refs, blockRef{slot: s, node: l.insert(e)})
	}
}

func (x *prefixIndex) newEntry(h uint64) *blockEntry {
	if n := len(x.spare); n > 0 {
		e := x.spare[n-1]
		x.spare = x.spare[:n-1]
		e.hash, e.refs = h, e.refs[:0]
		return e
	}
	return &blockEntry{hash: h}
}

func (e *blockEntry) nodeOf(slot int32) (int32, bool) {
	for _, r := range e.refs {
		if r.slot == slot {
			return r.node, true
		}
	}
	return 0, false
}

// blockLRU orders one slot's blocks by recency; nodes live in a slice, linked by index.
type blockLRU struct {
	capacity   int
	size       int
	nodes      []lruNode
	head, tail int32 // most and least recently used; -1 when empty
	freeNode   []int32
}

type lruNode struct {
	ent        *blockEntry
	prev, next int32
}

func newBlockLRU(capacity int) *blockLRU {
	return &blockLRU{capacity: max(capacity, 1), head: -1, tail: -1}
}

func (l *blockLRU) unlink(i int32) {
	n := &l.nodes[i]
	if n.prev >= 0 {
		l.nodes[n.prev].next = n.next
	} else {
		l.head = n.next
	}
	if n.next >= 0 {
		l.nodes[n.next].prev = n.prev
	} else {
		l.tail = n.prev
	}
}

func (l *blockLRU) pushFront(i int32) {
	n := &l.nodes[i]
	n.prev, n.next = -1, l.head
	if l.head >= 0 {
		l.nodes[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}

func (l *blockLRU) moveToFront(i int32) {
	if l.head != i {
		l.unlink(i)
		l.pushFront(i)
	}
}

func (l *blockLRU) insert(e *blockEntry) int32 {
	var i int32
	if n := len(l.freeNode); n > 0 {
		i = l.freeNode[n-1]
		l.freeNode = l.freeNode[:n-1]
	} else {
		l.nodes = append(l.nodes, lruNode{})
		i = int32(len(l.nodes) - 1)
	}
	l.nodes[i].ent = e
	l.pushFront(i)
	l.size++
	return i
}

// evict removes the least recently used block and returns its entry.
func (l *blockLRU) evict() *blockEntry {
	i := l.tail
	e := l.nodes[i].ent
	l.unlink(i)
	l.nodes[i].ent = nil
	l.freeNode = append(l.freeNode, i)
	l.size--
	return e
}
