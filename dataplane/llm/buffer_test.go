package llm

import (
	"bytes"
	"testing"
)

// TestBufferZeroedOnRelease: Release zeroes every byte the buffer held (a body is a prompt or a
// reply), capacity included, and a buffer grown past MaxPooledBuffer keeps no memory for the
// pool.
func TestBufferZeroedOnRelease(t *testing.T) {
	b := GetBuffer()
	b.B = append(b.B[:0], "sk-secret prompt text"...)
	b.B = b.B[:3] // bytes past the length were the request's too
	all := b.B[:cap(b.B)]
	b.Release()
	if n := bytes.Count(all, []byte{0}); n != len(all) {
		t.Fatalf("released buffer still holds %q", all)
	}

	big := GetBuffer()
	big.B = make([]byte, MaxPooledBuffer+1)
	big.Release()
	if big.B != nil {
		t.Fatalf("a buffer of %d bytes kept its memory for the pool", len(big.B))
	}
}

// TestBufferReleasedTwicePanics: a buffer released twice would be in the pool twice, handed to
// two requests at once; it is caught at once instead.
func TestBufferReleasedTwicePanics(t *testing.T) {
	b := GetBuffer()
	b.Release()
	defer func() {
		if recover() == nil {
			t.Fatal("a second Release did not panic")
		}
	}()
	b.Release()
}

// TestResponseBufferZeroed: an upstream reply's buffer goes back to its pool with the reply's
// bytes zeroed.
func TestResponseBufferZeroed(t *testing.T) {
	b := new(bytes.Buffer)
	b.WriteString(`{"content":"the model's answer","key":"sk-upstream"}`)
	filled := b.Bytes()
	putResponseBuffer(b)
	if n := bytes.Count(filled, []byte{0}); n != len(filled) || b.Len() != 0 {
		t.Fatalf("pooled reply buffer still holds %q", filled)
	}
}
