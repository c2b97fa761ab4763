package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// gcStats is a dataplane binary's runtime.MemStats counters, read from the "# Name = value"
// lines of /debug/pprof/allocs?debug=1 on its --debug-addr: what a run allocated and how
// often the garbage collector ran, beside its CPU time.
type gcStats struct {
	totalAlloc, numGC int64
	pauseNs           [256]int64 // MemStats.PauseNs: cycle k's stop-the-world pauses at (k+255)%256
}

func readGCStats(debugAddr string) (gcStats, error) {
	resp, err := http.Get("http://" + debugAddr + "/debug/pprof/allocs?debug=1")
	if err != nil {
		return gcStats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return gcStats{}, fmt.Errorf("%s: status %d", debugAddr, resp.StatusCode)
	}
	var g gcStats
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "# "), " = ")
		if !ok {
			continue
		}
		switch k {
		case "TotalAlloc":
			g.totalAlloc, _ = strconv.ParseInt(v, 10, 64)
		case "NumGC":
			g.numGC, _ = strconv.ParseInt(v, 10, 64)
		case "PauseNs":
			for i, f := range strings.Fields(strings.Trim(v, "[]")) {
				if i < len(g.pauseNs) {
					g.pauseNs[i], _ = strconv.ParseInt(f, 10, 64)
				}
			}
		}
	}
	return g, sc.Err()
}

// gcPerRequest is the difference b−a spread over n requests: bytes allocated per request,
// collections per thousand requests, and the longest stop-the-world pause of those cycles (µs;
// of the last 256 when there were more).
type gcPerRequest struct {
	bytes, gcPer1k, pauseMicros float64
}

func (a gcStats) per(b gcStats, n float64) gcPerRequest {
	if n <= 0 {
		return gcPerRequest{}
	}
	var longest int64
	for k := max(a.numGC+1, b.numGC-255); k <= b.numGC; k++ {
		longest = max(longest, b.pauseNs[(k+255)%256])
	}
	return gcPerRequest{
		bytes:       float64(b.totalAlloc-a.totalAlloc) / n,
		gcPer1k:     1000 * float64(b.numGC-a.numGC) / n,
		pauseMicros: float64(longest) / 1000,
	}
}
