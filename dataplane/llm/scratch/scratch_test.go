package scratch

import "testing"

func TestResetClearsWholeCapacity(t *testing.T) {
	s := []*int{new(int), new(int), new(int)}
	s = s[:1]
	Reset(&s)
	if len(s) != 0 || cap(s) != 3 {
		t.Fatalf("len %d cap %d, want 0 and 3 (kept)", len(s), cap(s))
	}
	for i, p := range s[:cap(s)] {
		if p != nil {
			t.Errorf("element %d past the length still set", i)
		}
	}
	big := make([]int, 0, MaxKept+1)
	Reset(&big)
	if big != nil {
		t.Errorf("a slice past MaxKept was kept (cap %d)", cap(big))
	}
}

func TestResetBytesZeroes(t *testing.T) {
	b := []byte("secret request bytes")
	b = b[:3]
	ResetBytes(&b)
	if len(b) != 0 {
		t.Fatalf("len %d", len(b))
	}
	for i, c := range b[:cap(b)] {
		if c != 0 {
			t.Fatalf("byte %d still %q", i, c)
		}
	}
	big := make([]byte, 0, MaxBytes+1)
	ResetBytes(&big)
	if big != nil {
		t.Errorf("a buffer past MaxBytes was kept")
	}
}

func TestNewAndSlice(t *testing.T) {
	if p := New[int](nil); p == nil || *p != 0 {
		t.Fatal("New without a pool")
	}
	var pool []int
	a := New(&pool)
	*a = 7
	if len(pool) != 1 || pool[0] != 7 {
		t.Fatalf("pool %v: New does not hand out the pool's element", pool)
	}
	s := Slice(&pool, 2)
	if len(s) != 0 || cap(s) != 2 {
		t.Fatalf("Slice: len %d cap %d, want 0 and 2", len(s), cap(s))
	}
	s = append(s, 1, 2)
	s2 := Slice(&pool, 1)
	s2 = append(s2, 9)
	if s[0] != 1 || s[1] != 2 || s2[0] != 9 {
		t.Fatalf("slices handed out overlap: %v %v", s, s2)
	}
	if s = append(s, 3); &s[0] == &pool[1] {
		t.Error("appending past a handed-out slice's capacity wrote into the pool")
	}
}

func TestString(t *testing.T) {
	var raw []byte
	if got := String(&raw, []byte(`"plain"`), true); got != "plain" || len(raw) != 0 {
		t.Fatalf("plain: %q, raw %q", got, raw)
	}
	got := String(&raw, []byte(`"a\"b\u00e9"`), false)
	if got != `a"bé` {
		t.Fatalf("escaped: %q", got)
	}
	first := got
	if second := String(&raw, []byte(`"\n"`), false); second != "\n" || first != `a"bé` {
		t.Fatalf("second string %q changed the first: %q", second, first)
	}
}
