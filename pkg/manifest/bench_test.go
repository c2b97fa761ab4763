package manifest

import (
	"fmt"
	"testing"

	"github.com/infergw/gwctl/internal/corpus"
)

// benchCorpus runs parseFile over the benchmark corpus of hack/bench/validate (mixed kinds, 20
// documents per file), reporting bytes and documents per second.
func benchCorpus(b *testing.B, parseFile func(name string, data []byte) error) {
	const docs = 2000
	files, _ := corpus.Generate(docs)
	size := 0
	for _, f := range files {
		size += len(f.Data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			if err := parseFile(f.Name, f.Data); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(docs*b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkParse decodes the corpus with positions.
func BenchmarkParse(b *testing.B) {
	benchCorpus(b, func(name string, data []byte) error {
		_, err := Parse(name, data, DefaultLimits)
		return err
	})
}

// BenchmarkParseYAMLv3 is BenchmarkParse with the fast front end turned off: yaml.v3 alone.
func BenchmarkParseYAMLv3(b *testing.B) {
	benchCorpus(b, func(name string, data []byte) error {
		_, err := parse(name, data, DefaultLimits, false)
		return err
	})
}

// BenchmarkFastParse is the fast front end alone (trees, no conversion to objects).
func BenchmarkFastParse(b *testing.B) {
	benchCorpus(b, func(name string, data []byte) error {
		if _, _, ok := fastParse(data, DefaultLimits); !ok {
			return fmt.Errorf("%s: declined", name)
		}
		return nil
	})
}
