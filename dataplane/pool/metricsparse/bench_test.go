package metricsparse

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkParse parses one scrape: vllm.prom is the size the simulator serves (the picker's
// series only), vllm-full.prom the shape of a real vLLM server's /metrics (its histograms,
// counters and process metrics beside them, 32 KB).
func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"vllm.prom", "vllm-full.prom"} {
		in, err := os.ReadFile("testdata/" + name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bytes.NewReader(in)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
