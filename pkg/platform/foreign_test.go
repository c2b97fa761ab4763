package platform

import (
	"errors"
	"strings"
	"testing"
)

// A platform repo's config carries keys other tools read; they load, pass through untouched
// and are knobs, with no warnings.
const repoConfig = `environment: dev
cluster: dev-eu-1
repoURL: https://git.example.com/platform.git
domain: dev.example.com
profile: small
gpu_stack: operator
secret_backend: vault
dns:
  provider: none
  zones: [a, b]
features:
  mcp: true
`

func TestForeignKeysPassThrough(t *testing.T) {
	cfg, err := Load(Options{File: write(t, repoConfig), Features: features})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Fatalf("warnings for a real repo's keys: %v", cfg.Warnings)
	}
	for key, want := range map[string]string{
		"cluster": "dev-eu-1", "repoURL": "https://git.example.com/platform.git", "gpu_stack": "operator",
		"dns.provider": "none", "secret_backend": "vault", "environment": "dev", "features.mcp": "true",
		"repourl": "https://git.example.com/platform.git", // a knob may differ in case, as before
	} {
		if got := cfg.Knob(key); got != want {
			t.Errorf("knob %s = %q, want %q", key, got, want)
		}
	}
	// Keys keep their spelling: what other tools read is what the file says.
	if _, ok := cfg.Knobs["repoURL"]; !ok {
		t.Errorf("repoURL lost its case: %v", cfg.Knobs)
	}
	if !cfg.Features["mcp"] || cfg.Environment != "dev" {
		t.Fatalf("owned keys not read: %+v", cfg)
	}
}

// --set and GWCTL_<KEY_PATH> reach foreign keys: the environment names keys the file has,
// --set creates any key; flags beat the environment.
func TestForeignOverrides(t *testing.T) {
	file := write(t, repoConfig)
	cases := []struct {
		name    string
		environ []string
		set     []string
		want    map[string]string
	}{
		{name: "--set", set: []string{"gpu_stack=x"}, want: map[string]string{"gpu_stack": "x"}},
		{name: "env, underscore key", environ: []string{"GWCTL_GPU_STACK=x"}, want: map[string]string{"gpu_stack": "x"}},
		{name: "env, nested key", environ: []string{"GWCTL_DNS_PROVIDER=route53"}, want: map[string]string{"dns.provider": "route53"}},
		{name: "env, camelCase key", environ: []string{"GWCTL_REPOURL=https://other"}, want: map[string]string{"repoURL": "https://other"}},
		{name: "flag beats env", environ: []string{"GWCTL_GPU_STACK=env"}, set: []string{"gpu_stack=flag"}, want: map[string]string{"gpu_stack": "flag"}},
		{name: "--set creates nested keys", set: []string{"a.b=c", "dns.ttl=300"},
			want: map[string]string{"a.b": "c", "dns.ttl": "300", "dns.provider": "none"}},
		{name: "--set null clears", set: []string{"gpu_stack=null"}, want: map[string]string{"gpu_stack": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(Options{File: file, Features: features, Environ: c.environ, Set: c.set})
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range c.want {
				if got := cfg.Knob(k); got != want {
					t.Errorf("knob %s = %q, want %q", k, got, want)
				}
			}
			if len(cfg.Warnings) != 0 {
				t.Errorf("warnings: %v", cfg.Warnings)
			}
		})
	}
	if cfg, _ := Load(Options{File: file, Features: features, Set: []string{"dns.ttl=300"}}); cfg != nil {
		if v, _ := cfg.Lookup("dns.ttl"); v != int64(300) {
			t.Errorf("--set value is a YAML scalar: got %#v", v)
		}
	}
}

func TestForeignOverrideErrors(t *testing.T) {
	cases := []struct {
		name    string
		file    string
		environ []string
		set     []string
		want    string
	}{
		{name: "--set through a foreign scalar", file: repoConfig, set: []string{"cluster.name=x"}, want: "--set cluster.name: cluster is a string, not a mapping"},
		{name: "--set onto a foreign mapping", file: repoConfig, set: []string{"dns=x"}, want: "--set dns: dns is a mapping"},
		{name: "env fits two keys", file: "gpu_stack: a\ngpu: {stack: b}\n", environ: []string{"GWCTL_GPU_STACK=x"},
			want: "environment GWCTL_GPU_STACK: names gpu.stack and gpu_stack; use --set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(Options{File: write(t, c.file), Features: features, Environ: c.environ, Set: c.set})
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want *platform.Error containing %q", err, c.want)
			}
		})
	}
}

// Without --strict-config a foreign key that is a likely typo of a key gwctl owns is a warning
// naming it, so a misspelt features: is not silently ignored; with it, an error at the key.
func TestTyposAndStrict(t *testing.T) {
	file := write(t, "environment: dev\nfeaturs:\n  mcp: true\ncluster: a\n")
	cfg, err := Load(Options{File: file, Features: features})
	if err != nil {
		t.Fatal(err)
	}
	want := `platform.yaml:2:1: featurs: gwctl does not read this key (did you mean "features"?); it is passed through as a foreign key`
	if len(cfg.Warnings) != 1 || !strings.HasSuffix(cfg.Warnings[0], want) {
		t.Fatalf("warnings %q, want one ending %q", cfg.Warnings, want)
	}
	if cfg.Features["mcp"] {
		t.Fatal("a misspelt features: turned a feature on")
	}
	_, err = Load(Options{File: file, Features: features, Strict: true})
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("strict: got %v", err)
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != 2 || !strings.HasSuffix(got[0], `platform.yaml:2:1: featurs: unknown key (did you mean "features"?); --strict-config refuses keys gwctl does not own`) ||
		!strings.HasSuffix(got[1], "platform.yaml:4:1: cluster: unknown key; --strict-config refuses keys gwctl does not own") {
		t.Fatalf("strict errors:\n%s", err)
	}
	// --set and the environment warn too.
	cfg, err = Load(Options{Features: features, Set: []string{"featurs.mcp=true"}, Environ: []string{"GWCTL_GPU_STACK=x", "GWCTL_CONFIG=/x"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(cfg.Warnings, "\n"); !strings.Contains(w, `--set featurs.mcp: gwctl does not read this key (did you mean "features"?)`) ||
		!strings.Contains(w, "environment GWCTL_GPU_STACK: names no key") || strings.Contains(w, "GWCTL_CONFIG") {
		t.Fatalf("warnings:\n%s", w)
	}
}

// Every error in a file is reported, sorted by position, and a run says exactly what the last
// said (the schema library reports in map order).
func TestErrorsDeterministic(t *testing.T) {
	file := write(t, "gateway:\n  zzz: 1\n  naem: x\n  port: eighty\nfeatures:\n  egres: true\n  mpc: true\npool:\n  nme: x\nsecretStore: {kind: Other, nme: x}\n")
	var first string
	for i := range 20 {
		_, err := Load(Options{File: file, Features: features, Strict: true})
		if err == nil {
			t.Fatal("no error")
		}
		if i == 0 {
			first = err.Error()
			continue
		}
		if err.Error() != first {
			t.Fatalf("run %d differs:\n%s\nvs\n%s", i, err, first)
		}
	}
	var lines []string
	for _, l := range strings.Split(first, "\n") {
		_, rest, _ := strings.Cut(l, "platform.yaml:")
		lines = append(lines, rest[:strings.Index(rest, ": ")])
	}
	if got := strings.Join(lines, " "); got != "2:3 3:3 4:3 6:3 7:3 9:3 10:15 10:28" {
		t.Fatalf("positions %s in:\n%s", got, first)
	}
}
