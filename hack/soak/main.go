// Command soak runs the dataplane soak test (dataplane/reliability TestSoak) for a fixed time
// and prints its verdict.
package main

// Usage
//
// The verdict: zero unexpected errors; goroutines, heap and file descriptors flat;
// latency percentiles stable. make soak runs it for 10 minutes, make soak-ci for 60 seconds.
//
//	go run ./hack/soak -duration 10m -report soak-report.json

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	dur := flag.Duration("duration", 10*time.Minute, "how long the mixed load runs")
	report := flag.String("report", "soak-report.json", "where the figures are written as JSON")
	flag.Parse()
	os.Exit(run(*dur, *report))
}

func run(dur time.Duration, report string) int {
	if dur < 15*time.Second {
		fmt.Fprintln(os.Stderr, "soak: -duration must be at least 15s (the first fifth is warm-up)")
		return 2
	}
	_ = os.Remove(report)
	timeout := dur + 5*time.Minute
	cmd := exec.Command("go", "test", "./dataplane/reliability", "-run", "^TestSoak$", "-count=1", "-v",
		"-timeout", timeout.String(), "-args", "-soak.duration="+dur.String(), "-soak.report="+report)
	// Run from the module root, wherever soak was started.
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil && len(out) > 1 {
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	}
	if !filepath.IsAbs(report) {
		if wd, err := os.Getwd(); err == nil {
			report = filepath.Join(wd, report)
			cmd.Args[len(cmd.Args)-1] = "-soak.report=" + report
		}
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err := cmd.Run()
	b, rerr := os.ReadFile(report)
	if rerr != nil {
		fmt.Fprintf(os.Stderr, "soak: FAIL: no report (%v); go test: %v\n", rerr, err)
		return 1
	}
	var r struct {
		Requests       int        `json:"requests"`
		Errors         int        `json:"unexpected_errors"`
		GoroutineSlope float64    `json:"goroutines_per_min"`
		HeapSlope      float64    `json:"heap_mib_per_min"`
		FDGrowth       int        `json:"fd_growth"`
		P50            [2]float64 `json:"p50_first_last_third_ms"`
		P99            [2]float64 `json:"p99_first_last_third_ms"`
		Failures       []string   `json:"failures"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		fmt.Fprintf(os.Stderr, "soak: FAIL: reading %s: %v\n", report, err)
		return 1
	}
	verdict := "PASS"
	if err != nil || len(r.Failures) > 0 {
		verdict = "FAIL"
	}
	fmt.Printf("soak %s: %s: %d requests, %d unexpected errors, goroutines %+.2f/min, heap %+.3f MiB/min, fds %+d, p50 %.1f -> %.1f ms, p99 %.1f -> %.1f ms (figures in %s)\n",
		dur, verdict, r.Requests, r.Errors, r.GoroutineSlope, r.HeapSlope, r.FDGrowth, r.P50[0], r.P50[1], r.P99[0], r.P99[1], report)
	for _, f := range r.Failures {
		fmt.Println("  -", f)
	}
	if verdict == "FAIL" {
		return 1
	}
	return 0
}
