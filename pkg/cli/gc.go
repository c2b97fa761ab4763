package cli

import (
	"os"
	"runtime/debug"
)

// TuneGC sets the garbage collector for a short batch run that keeps what it reads until it
// reports: no collection by heap growth, only under a 1 GiB soft limit, so a large input still
// stays bounded (past the limit the runtime collects as often as it must, as it would with any
// GOGC). `gwctl validate` on 10,000 documents peaks near 0.5 GiB and never collects; GOGC=400
// cost it a tenth more time, the default GOGC=100 a third (BENCHMARKS.md). GOGC and GOMEMLIMIT
// in the environment win.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}
