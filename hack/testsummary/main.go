// Command testsummary reads `go test -json` on stdin and prints what a person needs from it;
// it exits 1 when a test or package failed, or, under CI=true, when a test was skipped for a missing file.
package main

// What it prints
//
// Each package's closing line (ok, FAIL, ?), the full output of failing tests and failing packages, the
// tests that were skipped and why, and a last line "N passed, N failed, N skipped". The
// tests read nothing outside the repository, so on CI a missing file is a broken checkout.
//
//	go test -json ./... | go run ./hack/testsummary

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail
	Test       string
	Output     string
}

// missingFile matches the reasons of skips for a file or folder that is not there.
var missingFile = regexp.MustCompile(`(?i)no such file|not found|does not exist|not present|missing`)

func main() {
	s := newSummary(os.Stdout, os.Getenv("CI") == "true")
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if !s.finish() {
		os.Exit(1)
	}
}

type line struct {
	test string // "" for the package's own output
	text string
}

// pkgState holds a package's output until it is known whether anyone needs to see it.
type pkgState struct {
	lines []line
	done  map[string]bool // tests that passed or skipped
}

type summary struct {
	out                   io.Writer
	ci                    bool
	pkgs                  map[string]*pkgState
	passed, failed, skips int
	pkgFailed             bool
	skipped               []string
	missing               []string
}

func newSummary(out io.Writer, ci bool) *summary {
	return &summary{out: out, ci: ci, pkgs: map[string]*pkgState{}}
}

func (s *summary) pkg(name string) *pkgState {
	p := s.pkgs[name]
	if p == nil {
		p = &pkgState{done: map[string]bool{}}
		s.pkgs[name] = p
	}
	return p
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(s.out, sc.Text()) // not from test2json (go vet, go command messages): show as is
			continue
		}
		s.event(e)
	}
	return sc.Err()
}

func (s *summary) event(e event) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
		return
	case "build-fail":
		s.pkgFailed = true
		return
	}
	p := s.pkg(e.Package)
	switch e.Action {
	case "output":
		p.lines = append(p.lines, line{e.Test, e.Output})
	case "pass":
		if e.Test != "" {
			s.passed++
			p.done[e.Test] = true
			return
		}
		s.closePackage(e.Package, p, false)
	case "skip":
		if e.Test != "" {
			s.skips++
			p.done[e.Test] = true
			reason := skipReason(p.lines, e.Test)
			s.skipped = append(s.skipped, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason))
			if missingFile.MatchString(reason) {
				s.missing = append(s.missing, e.Package+" "+e.Test)
			}
			return
		}
		s.closePackage(e.Package, p, false) // no test files
	case "fail":
		if e.Test != "" {
			s.failed++
			return
		}
		s.pkgFailed = true
		s.closePackage(e.Package, p, true)
	}
}

// closePackage prints a passing package's closing line, or all that a failing one said except
// the output of its passing and skipped tests: failed tests in full, and what tests that never
// finished (a panic, a timeout) and the package itself said.
func (s *summary) closePackage(name string, p *pkgState, failed bool) {
	for _, l := range p.lines {
		if (failed && !p.done[l.test]) || (!failed && l.test == "" && closing(l.text)) {
			fmt.Fprint(s.out, l.text)
		}
	}
	delete(s.pkgs, name)
}

// closing reports whether a package-level line is go test's closing line for the package.
func closing(text string) bool {
	return strings.HasPrefix(text, "ok  ") || strings.HasPrefix(text, "?   ") || strings.HasPrefix(text, "FAIL")
}

// skipReason is the message the test skipped with: its last line of output before "--- SKIP".
func skipReason(lines []line, test string) string {
	reason := ""
	for _, l := range lines {
		if l.test != test {
			continue
		}
		t := strings.TrimSpace(l.text)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		reason = t
	}
	return reason
}

// finish prints what the run left out and the counts, and reports whether the run passed.
func (s *summary) finish() bool {
	for name, p := range s.pkgs { // packages the stream ended inside (go test killed)
		s.closePackage(name, p, true)
		s.pkgFailed = true
	}
	if len(s.skipped) > 0 {
		fmt.Fprintf(s.out, "skipped (did not run):\n")
		for _, sk := range s.skipped {
			fmt.Fprintf(s.out, "  %s\n", sk)
		}
	}
	ok := s.failed == 0 && !s.pkgFailed
	if s.ci && len(s.missing) > 0 {
		fmt.Fprintf(s.out, "under CI=true a test skipped for a missing file fails the run (%d): %s\n", len(s.missing), strings.Join(s.missing, ", "))
		ok = false
	}
	fmt.Fprintf(s.out, "%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skips)
	return ok
}
