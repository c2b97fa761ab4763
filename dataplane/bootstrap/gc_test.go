package bootstrap

import (
	"runtime/debug"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	for in, want := range map[string]int64{
		"536870912\n":         536870912,
		"max\n":               0,
		"9223372036854771712": 0, // cgroup v1 "no limit"
		"":                    0,
		"-1":                  0,
		"garbage":             0,
		" 1073741824 ":        1 << 30,
	} {
		if got := parseMemoryLimit(in); got != want {
			t.Errorf("parseMemoryLimit(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	prevLimit := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prevLimit)

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	limit := TuneGC()
	if got := debug.SetGCPercent(100); got != GCPercent {
		t.Errorf("GC percent %d, want %d", got, GCPercent)
	}
	if cg := cgroupMemoryLimit(); limit != cg/10*9 {
		t.Errorf("memory limit %d, want 90%% of the cgroup's %d", limit, cg)
	}

	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetGCPercent(150)
	if limit := TuneGC(); limit != 0 {
		t.Errorf("GOMEMLIMIT set: TuneGC set a limit of %d", limit)
	}
	if got := debug.SetGCPercent(100); got != 150 {
		t.Errorf("GOGC set: GC percent changed to %d", got)
	}
}
