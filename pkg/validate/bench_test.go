package validate

import (
	"context"
	"testing"

	"github.com/infergw/gwctl/internal/corpus"
	"github.com/infergw/gwctl/pkg/manifest"
)

func benchObjects(b *testing.B, n int) []*manifest.Object {
	b.Helper()
	files, _ := corpus.Generate(n)
	var objs []*manifest.Object
	for _, f := range files {
		o, err := manifest.Parse(f.Name, f.Data, manifest.DefaultLimits)
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, o...)
	}
	return objs
}

// BenchmarkValidateCorpus validates the 10,000-document mixed corpus (parsed once) with every
// check on; schemas are compiled before the timer starts.
func BenchmarkValidateCorpus(b *testing.B) {
	benchValidate(b, 10000, Options{})
}

// BenchmarkValidatePerDocument is the per-document pipeline only (what kubeconform does).
func BenchmarkValidatePerDocument(b *testing.B) {
	benchValidate(b, 10000, Options{SkipCrossResource: true, SkipCompile: true})
}

func benchValidate(b *testing.B, n int, opts Options) {
	objs := benchObjects(b, n)
	v, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	v.Validate(context.Background(), objs[:100]) // compile the schemas
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v.Validate(context.Background(), objs)
	}
	b.ReportMetric(float64(len(objs)*b.N)/b.Elapsed().Seconds(), "docs/s")
}
