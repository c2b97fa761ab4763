package kube

import (
	"testing"

	"github.com/infergw/gwctl/pkg/gateway"
)

// Every replica assigns the same ports from the same Gateways, each listener port its own, and
// a Gateway's ports stay put when others come and go; a full range leaves the youngest out.
func TestAllocatePorts(t *testing.T) {
	gw := func(name string, port int32) gwPort {
		return gwPort{gw: gateway.NamespacedName{Namespace: "ns", Name: name}, port: port}
	}
	r := PortRange{First: 20000, Last: 20999}
	keys := []gwPort{gw("a", 80), gw("a", 443), gw("b", 80), gw("c", 80)}
	one, full := allocate(keys, r)
	two, _ := allocate(append([]gwPort(nil), keys...), r)
	if len(full) != 0 || len(one) != 4 {
		t.Fatalf("allocated %v, left out %v", one, full)
	}
	seen := map[int32]bool{}
	for k, p := range one {
		if p < r.First || p > r.Last || seen[p] || two[k] != p {
			t.Errorf("%v: port %d (again: %d), duplicate or out of range", k, p, two[k])
		}
		seen[p] = true
	}
	// b goes, d comes: a and c keep theirs.
	three, _ := allocate([]gwPort{gw("a", 80), gw("a", 443), gw("c", 80), gw("d", 80)}, r)
	for _, k := range []gwPort{gw("a", 80), gw("a", 443), gw("c", 80)} {
		if three[k] != one[k] {
			t.Errorf("%v moved from %d to %d when other Gateways changed", k, one[k], three[k])
		}
	}
	small := PortRange{First: 20000, Last: 20001}
	got, left := allocate(keys, small)
	if len(got) != 2 || len(left) != 2 || left[0] != keys[2] {
		t.Errorf("range of two: allocated %v, left out %v; want the two oldest placed", got, left)
	}
}
