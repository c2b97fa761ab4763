package jsonlit

import (
	"strings"
	"testing"
)

// benchLits are the literals of a Gemini stream event (short keys and values) and a long text.
var (
	shortLits = []byte(`"candidates""content""parts""text""word 12, ""role""model""index""usageMetadata""promptTokenCount""modelVersion""gemini-2.5-flash""responseId""bench-1"`)
	longLit   = []byte(`"` + strings.Repeat("You are a careful assistant. ", 40) + `"`)
)

func benchString(b *testing.B, lits []byte, strict bool) {
	b.SetBytes(int64(len(lits)))
	for b.Loop() {
		for i := 0; i < len(lits); {
			end, _, fault := String(lits, i, strict)
			if fault != 0 {
				b.Fatal(fault)
			}
			i = end
		}
	}
}

func BenchmarkStringShort(b *testing.B)       { benchString(b, shortLits, false) }
func BenchmarkStringShortStrict(b *testing.B) { benchString(b, shortLits, true) }
func BenchmarkStringLong(b *testing.B)        { benchString(b, longLit, false) }
