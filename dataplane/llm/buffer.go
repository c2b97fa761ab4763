package llm

import (
	"sync"
	"sync/atomic"

	"github.com/infergw/gwctl/dataplane/llm/scratch"
)

// MaxPooledBuffer bounds the capacity a Buffer may keep in the pool (the scratch's bound): one
// huge body does not pin its memory there, nor make every later release zero that much.
const MaxPooledBuffer = scratch.MaxBytes

// Buffer is pooled memory for a body that lives exactly as long as its request (the client's
// body once translated into a new upstream body, a translated reply), instead of an allocation
// each. Release zeroes it (bodies carry prompts and replies) before it goes back to the pool. A
// body the transport still reads after the handler has returned is never in a Buffer that is
// released: net/http's transport gives no end-of-use signal for an in-memory request body short
// of Close, and a body that is not a known in-memory reader costs its own write system call.
type Buffer struct {
	B    []byte
	held atomic.Bool
}

var buffers = sync.Pool{New: func() any { return new(Buffer) }}

// GetBuffer returns an empty Buffer; its holder calls Release once, when nothing uses B any more.
func GetBuffer() *Buffer {
	b := buffers.Get().(*Buffer)
	b.held.Store(true)
	return b
}

// Release zeroes b and pools it (within MaxPooledBuffer); nil is a no-op. A second Release
// panics: two requests would share the memory.
func (b *Buffer) Release() {
	if b == nil {
		return
	}
	if !b.held.Swap(false) {
		panic("llm: Buffer released twice")
	}
	if cap(b.B) > MaxPooledBuffer {
		b.B = nil
	} else {
		b.B = b.B[:0]
		clear(b.B[:cap(b.B)])
	}
	buffers.Put(b)
}
