package report

import (
	"fmt"
	"io"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

// BenchmarkJSON writes a report of 16,000 findings shaped like those of `gwctl validate` on the
// 10,000-document corpus, by hand and with encoding/json (what GWCTL_NOFAST=jsonreport runs).
func BenchmarkJSON(b *testing.B) {
	fs := make([]finding.Finding, 16000)
	for i := range fs {
		fs[i] = finding.Finding{
			File: fmt.Sprintf("corpus/manifests-%04d.yaml", i/32), Line: 6 + i%400, Column: 5,
			Resource: finding.Resource{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute", Namespace: fmt.Sprintf("team-%d", i%10), Name: fmt.Sprintf("route-%d", i)},
			Field:    fmt.Sprintf("spec.rules[%d].backendRefs[0]", i%3), Rule: "refs/backend-ref", Severity: finding.Severity(i % 3),
			Message: fmt.Sprintf("Service team-%d/svc-%d not found in the input", i%10, i),
		}
	}
	sum := Summary{Resources: 10000, Files: 500, Errors: 9000, Warnings: 900, Infos: 6100}
	for _, bc := range []struct {
		name  string
		write func(io.Writer, []finding.Finding, Summary) error
	}{{"hand-written", writeJSON}, {"encoding-json", writeEncodingJSON}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.write(io.Discard, fs, sum); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
