package manifest

import (
	"testing"

	"github.com/infergw/gwctl/hack/bench/validate/corpus"
)

// BenchmarkParse decodes the benchmark corpus of hack/bench/validate (mixed kinds, 20
// documents per file) with positions.
func BenchmarkParse(b *testing.B) {
	files, _ := corpus.Generate(2000)
	size := 0
	for _, f := range files {
		size += len(f.Data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			if _, err := Parse(f.Name, f.Data, DefaultLimits); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkParseYAMLv3 is BenchmarkParse with the fast front end turned off: yaml.v3 alone.
func BenchmarkParseYAMLv3(b *testing.B) {
	files, _ := corpus.Generate(2000)
	size := 0
	for _, f := range files {
		size += len(f.Data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			if _, err := parse(f.Name, f.Data, DefaultLimits, false); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkFastParse is the fast front end alone (trees, no conversion to objects).
func BenchmarkFastParse(b *testing.B) {
	files, _ := corpus.Generate(2000)
	size := 0
	for _, f := range files {
		size += len(f.Data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			if _, _, ok := fastParse(f.Data, DefaultLimits); !ok {
				b.Fatalf("%s: declined", f.Name)
			}
		}
	}
}
