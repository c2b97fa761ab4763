package telemetry

import "testing"

func FuzzParseSampling(f *testing.F) {
	for _, s := range []string{"true", "false", "0.1", "1", "0", " 0.5 ", "1e-3", "NaN", "request.path == '/x'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSampling(s)
		if err == nil && !(v >= 0 && v <= 1) {
			t.Fatalf("ParseSampling(%q) = %v, outside [0, 1]", s, v)
		}
	})
}
