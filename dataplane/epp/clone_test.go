package epp

import (
	"net/http"
	"reflect"
	"testing"
)

// cloneHeader copies as http.Header.Clone does (nil stays nil, a nil value stays nil, no value
// shared with the original), with room for the destination header.
func TestCloneHeaderMatchesClone(t *testing.T) {
	for _, h := range []http.Header{
		nil,
		{},
		{"Content-Type": {"application/json"}},
		{"Accept": {"a", "b"}, "X-Empty": {}, "X-Nil": nil, "Content-Type": {"application/json"}},
	} {
		got, want := cloneHeader(h), h.Clone()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("cloneHeader(%v) = %#v, want %#v", h, got, want)
		}
		for k, vs := range got {
			for i := range vs {
				vs[i] = "changed"
				if h[k][i] == "changed" {
					t.Errorf("%s: the clone shares its values with the original", k)
				}
			}
			if cap(vs) != len(vs) { // an append would write into the next header's values
				t.Errorf("%s: a value's slice has room into its neighbour's", k)
			}
		}
	}
}
