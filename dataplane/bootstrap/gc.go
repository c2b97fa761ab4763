package bootstrap

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// GCPercent is the garbage collector's heap growth target TuneGC sets.
const GCPercent = 400

// TuneGC sets the garbage collector for a gateway process; call it once from main, before
// serving. A gateway's live heap is small (a few MB) while every request allocates, so at Go's
// default GOGC=100 the heap goal sits at its 4 MB floor and the collector runs dozens of
// times a second under load; a request that meets a cycle pays for it (stop-the-world
// pauses, mark assists, a quarter of the CPUs taken by the mark worker), which is what sets
// the latency tail. GOGC=400 runs it a quarter as often for a few MB more memory. So that a
// large live heap stays bounded, a soft memory limit of 90 % of the container's cgroup memory
// limit is set when there is one. GOGC and GOMEMLIMIT in the environment win. It returns the
// limit it set (0: none).
func TuneGC() (memoryLimit int64) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	if max := cgroupMemoryLimit(); max > 0 {
		memoryLimit = max / 10 * 9
		debug.SetMemoryLimit(memoryLimit)
	}
	return memoryLimit
}

// cgroupMemoryLimit is the memory limit of this process's cgroup (v2 memory.max, else v1
// memory.limit_in_bytes), or 0 when there is none.
func cgroupMemoryLimit() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		return parseMemoryLimit(string(b))
	}
	return 0
}

// parseMemoryLimit parses a cgroup memory limit file: a byte count, or "max" (none). cgroup v1
// reports "no limit" as a huge number (about 2^63 rounded to the page size).
func parseMemoryLimit(s string) int64 {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}
