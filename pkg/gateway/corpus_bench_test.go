package gateway

import (
	"testing"

	"github.com/infergw/gwctl/internal/corpus"
	"github.com/infergw/gwctl/pkg/manifest"
)

// BenchmarkCompileCorpus compiles the 10,000-document validate benchmark corpus (mixed kinds,
// many dangling references): the compiler stage of `gwctl validate` on that corpus.
func BenchmarkCompileCorpus(b *testing.B) {
	files, _ := corpus.Generate(10000)
	var objs []*manifest.Object
	for _, f := range files {
		o, err := manifest.Parse(f.Name, f.Data, manifest.DefaultLimits)
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, o...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Compile(objs, Options{})
	}
}
