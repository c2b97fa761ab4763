package pool

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// hashBlocks cuts prompt into blocks of blockChars bytes (the trailing partial block is ignored),
// at most maxBlocks, and chains them: h0 = xxh64(model), hi = xxh64(block_i ‖ le64(h(i-1))).
// The result is appended to dst.
func hashBlocks(dst []uint64, model string, prompt []byte, blockChars, maxBlocks int) []uint64 {
	if blockChars <= 0 {
		return dst
	}
	n := min(len(prompt)/blockChars, maxBlocks)
	prev := xxhash.Sum64String(model)
	var d xxhash.Digest
	var buf [8]byte
	for i := range n {
		d.Reset()
		_, _ = d.Write(prompt[i*blockChars : (i+1)*blockChars])
		binary.LittleEndian.PutUint64(buf[:], prev)
		_, _ = d.Write(buf[:])
		prev = d.Sum64()
		dst = append(dst, prev)
	}
	return dst
}
