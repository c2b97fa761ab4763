package docschema

import "testing"

func TestSuggest(t *testing.T) {
	owned := []string{"catalog", "catalogPath", "dataplane", "egress", "environment", "features", "gateway", "identity",
		"kubernetesVersion", "mcp", "observability", "output", "pool", "secretStore"}
	cases := map[string]string{
		"featurs": "features", "Features": "features", "fetaures": "features", "gatway": "gateway",
		"secretstore": "secretStore", "envirnment": "environment", "mpc": "mcp",
		// A real platform repo's own keys are not typos.
		"cluster": "", "repoURL": "", "domain": "", "profile": "", "gpu_stack": "", "dns": "", "secret_backend": "",
		"po": "", "x": "",
	}
	for name, want := range cases {
		if got := Nearest(name, owned); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", name, got, want)
		}
	}
	if d := distance("ab", "ba"); d != 1 {
		t.Errorf("a transposition is one edit, got %d", d)
	}
}
