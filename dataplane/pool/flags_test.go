package pool

import "testing"

func TestParseWeightsAndProfile(t *testing.T) {
	w, err := ParseWeights("queue=2, kv=1.5,prefix=3")
	if err != nil || w != (Weights{Queue: 2, KVCache: 1.5, Prefix: 3}) {
		t.Fatalf("weights %+v, %v", w, err)
	}
	for _, bad := range []string{"queue", "queue=-1", "speed=2", "kv=x"} {
		if _, err := ParseWeights(bad); err == nil {
			t.Errorf("ParseWeights(%q) accepted", bad)
		}
	}
	if p, err := Profile("reference"); err != nil || p.Weights != (Weights{Queue: 2, KVCache: 2, Prefix: 3}) || p.InFlight {
		t.Fatalf("reference profile %+v, %v", p, err)
	}
	if p, _ := Profile(""); !p.InFlight || p.Fallbacks != 2 {
		t.Fatalf("default profile %+v", p)
	}
	if _, err := Profile("fast"); err == nil {
		t.Fatal("unknown profile accepted")
	}
}
