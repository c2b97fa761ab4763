package pool

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestHashBlocks(t *testing.T) {
	prompt := []byte(strings.Repeat("a", 64) + strings.Repeat("b", 64) + "partial")
	// Hand-built chain: h0 = xxh64(model); h1 = xxh64(block1 ‖ le64(h0)); h2 = xxh64(block2 ‖ le64(h1)).
	chain := func(prev uint64, block string) uint64 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], prev)
		return xxhash.Sum64(append([]byte(block), b[:]...))
	}
	h0 := xxhash.Sum64String("m")
	h1 := chain(h0, strings.Repeat("a", 64))
	h2 := chain(h1, strings.Repeat("b", 64))

	tests := []struct {
		name      string
		model     string
		prompt    []byte
		maxBlocks int
		want      []uint64
	}{
		{"two blocks, trailing partial ignored", "m", prompt, 256, []uint64{h1, h2}},
		{"truncated to max blocks", "m", prompt, 1, []uint64{h1}},
		{"shorter than a block", "m", []byte("short"), 256, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hashBlocks(nil, tc.model, tc.prompt, 64, tc.maxBlocks); !slices.Equal(got, tc.want) {
				t.Fatalf("got %x, want %x", got, tc.want)
			}
		})
	}
	if a, b := hashBlocks(nil, "m1", prompt, 64, 256), hashBlocks(nil, "m2", prompt, 64, 256); a[0] == b[0] {
		t.Fatal("model must seed the chain")
	}
}

func TestPrefixIndex(t *testing.T) {
	x := newPrefixIndex()
	a, b := x.addSlot(3), x.addSlot(10)
	x.learn(a, []uint64{1, 2, 3})
	x.learn(b, []uint64{1, 2})

	counts := x.match([]uint64{1, 2, 3, 4}, nil)
	if counts[a] != 3 || counts[b] != 2 {
		t.Fatalf("match counts %v, want a=3 b=2", counts)
	}
	// The walk stops at the first block nobody holds.
	if counts = x.match([]uint64{9, 1, 2}, counts); counts[a] != 0 || counts[b] != 0 {
		t.Fatalf("match after miss %v, want zeros", counts)
	}
	// Capacity 3: learning 7 evicts the least recently used block of a, the tail 3 (1 was inserted last).
	x.learn(a, []uint64{7})
	if counts = x.match([]uint64{1, 2, 3}, counts); counts[a] != 2 {
		t.Fatalf("after eviction a matches %d blocks, want 2", counts[a])
	}
	if _, ok := x.blocks[3]; ok {
		t.Fatal("evicted hash still in the reverse map")
	}
	// Shrinking capacity evicts immediately.
	x.setCapacity(a, 1)
	if n := x.lrus[a].size; n != 1 {
		t.Fatalf("after setCapacity(1) a holds %d blocks", n)
	}
	// Removing an endpoint purges it from the reverse map and recycles the slot.
	x.removeSlot(b)
	if counts = x.match([]uint64{1, 2}, counts); counts[b] != 0 {
		t.Fatalf("removed endpoint still matches: %v", counts)
	}
	if c := x.addSlot(5); c != b {
		t.Fatalf("slot not recycled: got %d want %d", c, b)
	}
	if counts = x.match([]uint64{1, 2}, counts); counts[b] != 0 {
		t.Fatal("recycled slot inherited old blocks")
	}
}

func TestPrefixIndexMatchesGIEWalk(t *testing.T) {
	// Random learning and eviction; the binary-searched counts must equal a block-by-block walk.
	x := newPrefixIndex()
	slots := []int{x.addSlot(40), x.addSlot(25), x.addSlot(60)}
	chains := make([][]uint64, 6)
	for c := range chains {
		base := uint64(c+1) << 32
		for i := range 20 {
			if c%2 == 1 && i < 8 { // odd chains share their first 8 blocks with the chain before
				chains[c] = append(chains[c], chains[c-1][i])
				continue
			}
			chains[c] = append(chains[c], base+uint64(i))
		}
	}
	for step := range 200 {
		x.learn(slots[step%3], chains[(step*7)%6][:5+step%16])
		for _, ch := range chains {
			got := x.match(ch, nil)
			want := make([]int, len(got))
			for _, h := range ch {
				e, ok := x.blocks[h]
				if !ok {
					break
				}
				for _, r := range e.refs {
					want[r.slot]++
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: match %v, walk %v", step, got, want)
			}
		}
	}
}

func TestBlockLRU(t *testing.T) {
	l := newBlockLRU(2)
	a, b, c := &blockEntry{hash: 1}, &blockEntry{hash: 2}, &blockEntry{hash: 3}
	na := l.insert(a)
	l.insert(b)
	l.moveToFront(na) // b is now least recently used
	if e := l.evict(); e != b {
		t.Fatalf("evicted %d, want 2", e.hash)
	}
	l.insert(c)
	if e := l.evict(); e != a {
		t.Fatalf("evicted %d, want 1", e.hash)
	}
	if l.size != 1 {
		t.Fatalf("size %d", l.size)
	}
}
