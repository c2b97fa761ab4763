package telemetry

// LabelOther is the value a metric label takes when the value at hand is not in its vocabulary.
const LabelOther = "other"

// Vocabulary is the fixed set of values a metric label may take when its value comes from a
// client or an upstream (an MCP method, a model name): anything else is recorded as LabelOther,
// so the number of series never grows with what they send. The zero Vocabulary is empty.
type Vocabulary struct {
	values map[string]struct{}
}

// NewVocabulary returns the vocabulary of values; empty strings are left out.
func NewVocabulary(values ...string) Vocabulary {
	v := Vocabulary{values: make(map[string]struct{}, len(values))}
	for _, s := range values {
		if s != "" {
			v.values[s] = struct{}{}
		}
	}
	return v
}

// Has reports whether s is in the vocabulary.
func (v Vocabulary) Has(s string) bool {
	_, ok := v.values[s]
	return ok
}

// Label is s when it is in the vocabulary, else LabelOther.
func (v Vocabulary) Label(s string) string {
	if v.Has(s) {
		return s
	}
	return LabelOther
}

// With returns a vocabulary holding v's values and values.
func (v Vocabulary) With(values ...string) Vocabulary {
	out := NewVocabulary(values...)
	for s := range v.values {
		out.values[s] = struct{}{}
	}
	return out
}
