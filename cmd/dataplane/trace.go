package main

import (
	"fmt"
	"io"
	"os"
	"runtime/trace"
)

// startTrace writes an execution trace (runtime/trace) of the process's whole life to the file
// GWCTL_TRACE names, when it is set: a debugging switch for the scheduler's view of a request
// (goroutines started, unblocked and woken per request; `go tool trace FILE`). The returned
// function ends the trace; the file is complete only once it has run (a clean shutdown).
func startTrace(getenv func(string) string, stderr io.Writer) func() {
	path := getenv("GWCTL_TRACE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		if err = trace.Start(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "dataplane: GWCTL_TRACE=%s: %v (no trace)\n", path, err)
		return func() {}
	}
	return func() {
		trace.Stop()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "dataplane: GWCTL_TRACE=%s: %v\n", path, err)
		}
	}
}
