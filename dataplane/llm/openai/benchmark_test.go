package openai

import (
	"bytes"
	"context"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm"
)

// BenchmarkPassthroughStream relays the 64-chunk stream of benchChatStream as the handler
// does (the SSE reader, the passthrough's StreamEvent) into a writer that keeps nothing: what
// the passthrough's relay costs beside the network.
func BenchmarkPassthroughStream(b *testing.B) {
	in := benchChatStream()
	var r bytes.Reader
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		p := &passthrough{passUsage: true, first: true}
		if err := llm.RelayStream(context.Background(), &r, discard{}, p); err != nil {
			b.Fatal(err)
		}
	}
}
