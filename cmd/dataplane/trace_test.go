package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartTrace: GWCTL_TRACE names the file an execution trace is written to, complete once the
// returned function has run; unset, nothing is written; an unwritable path is reported, not fatal.
func TestStartTrace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dp.trace")
	var stderr bytes.Buffer
	stop := startTrace(func(k string) string {
		if k == "GWCTL_TRACE" {
			return path
		}
		return ""
	}, &stderr)
	done := make(chan struct{})
	go func() { close(done) }() // something to trace
	<-done
	stop()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("go 1.")) || len(b) < 100 {
		t.Errorf("trace file starts %q, %d bytes: not an execution trace", b[:min(len(b), 16)], len(b))
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}

	startTrace(func(string) string { return "" }, &stderr)()
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("GWCTL_TRACE unset wrote files: %v", entries)
	}

	stderr.Reset()
	startTrace(func(string) string { return filepath.Join(dir, "missing", "dp.trace") }, &stderr)()
	if !strings.Contains(stderr.String(), "GWCTL_TRACE=") {
		t.Errorf("unwritable path: stderr %q, want the variable named", stderr.String())
	}
}
