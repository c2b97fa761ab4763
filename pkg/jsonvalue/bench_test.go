package jsonvalue

import (
	"encoding/json"
	"testing"

	"github.com/infergw/gwctl/internal/corpus"
	"github.com/infergw/gwctl/pkg/manifest"
)

// BenchmarkAppend encodes the 2,000 documents of the benchmark corpus by hand and with
// encoding/json.Marshal (what GWCTL_NOFAST=jsonvalue runs).
func BenchmarkAppend(b *testing.B) {
	files, _ := corpus.Generate(2000)
	var values []any
	for _, f := range files {
		objs, err := manifest.Parse(f.Name, f.Data, manifest.DefaultLimits)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range objs {
			values = append(values, o.Content)
		}
	}
	b.Run("hand-written", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			for _, v := range values {
				var err error
				if buf, err = appendValue(buf[:0], v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range values {
				if _, err := json.Marshal(v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
