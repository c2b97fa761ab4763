package kube

import (
	"fmt"
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
	one, full := allocate(keys, r, nil)
	two, _ := allocate(append([]gwPort(nil), keys...), r, nil)
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
	three, _ := allocate([]gwPort{gw("a", 80), gw("a", 443), gw("c", 80), gw("d", 80)}, r, nil)
	for _, k := range []gwPort{gw("a", 80), gw("a", 443), gw("c", 80)} {
		if three[k] != one[k] {
			t.Errorf("%v moved from %d to %d when other Gateways changed", k, one[k], three[k])
		}
	}
	small := PortRange{First: 20000, Last: 20001}
	got, left := allocate(keys, small, nil)
	if len(got) != 2 || len(left) != 2 || left[0] != keys[2] {
		t.Errorf("range of two: allocated %v, left out %v; want the two oldest placed", got, left)
	}
}

// A port given before (the Gateway's Service says so) stays with its key even when the hash
// would now place it elsewhere: an older Gateway it had been probed past has gone. Without
// that, the younger Gateway's port moved, and while its Service still sent traffic to the old
// port the requests reached another Gateway's routes (a conformance flake).
func TestAllocatePortsSticky(t *testing.T) {
	gw := func(name string) gwPort {
		return gwPort{gw: gateway.NamespacedName{Namespace: "ns", Name: name}, port: 80}
	}
	r := PortRange{First: 20000, Last: 20003} // small: collisions are certain
	// Find an older and a younger Gateway whose hashes collide: the younger is probed past.
	var older, younger gwPort
	var before map[gwPort]int32
	for i := 0; i < 100 && before == nil; i++ {
		for j := i + 1; j < 100; j++ {
			o, y := gw(fmt.Sprint("g", i)), gw(fmt.Sprint("g", j))
			alone, _ := allocate([]gwPort{y}, r, nil)
			both, _ := allocate([]gwPort{o, y}, r, nil)
			if both[y] != alone[y] {
				older, younger, before = o, y, both
				break
			}
		}
	}
	if before == nil {
		t.Fatal("no colliding pair found")
	}
	// The older goes. From the hash alone the younger would move to its own slot...
	if fresh, _ := allocate([]gwPort{younger}, r, nil); fresh[younger] == before[younger] {
		t.Fatalf("%v would not move: the pair does not collide", younger)
	}
	// ...but its Service says where it is, and it stays.
	after, full := allocate([]gwPort{younger}, r, map[gwPort]int32{younger: before[younger]})
	if len(full) != 0 || after[younger] != before[younger] {
		t.Errorf("%v moved from %d to %d after %v went", younger, before[younger], after[younger], older)
	}
	// Two keys claiming one port: the older keeps it, the younger is placed anew.
	clash, _ := allocate([]gwPort{older, younger}, r, map[gwPort]int32{older: 20001, younger: 20001})
	if clash[older] != 20001 || clash[younger] == 20001 {
		t.Errorf("clash: %v", clash)
	}
}
