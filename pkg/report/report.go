// Package report renders validation findings for people and machines, one small Writer per
// format: text grouped by file, JSON, JUnit XML and SARIF 2.1.0 (as GitHub code scanning accepts it).
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
)

// Summary counts what a run checked and found.
type Summary struct {
	Resources int  `json:"resources"`
	Files     int  `json:"files"`
	Errors    int  `json:"errors"`
	Warnings  int  `json:"warnings"`
	Infos     int  `json:"infos"`
	Skipped   int  `json:"skipped"`
	Strict    bool `json:"strict,omitempty"`
	// Objects lists every resource checked (JUnit reports the clean ones as passing test cases).
	Objects []Object `json:"-"`
}

// Object is one checked resource and the file it came from.
type Object struct {
	File     string
	Resource finding.Resource
}

// Failed reports whether the run fails: errors, or warnings when strict.
func (s Summary) Failed() bool { return s.Errors > 0 || (s.Strict && s.Warnings > 0) }

// Line is the one-line summary every format ends with.
func (s Summary) Line() string {
	verdict := "passed"
	if s.Failed() {
		verdict = "failed"
	}
	line := fmt.Sprintf("%s %s: %d %s, %d %s, %d %s",
		plural(s.Resources, "resource"), "in "+plural(s.Files, "file"), s.Errors, noun(s.Errors, "error"), s.Warnings, noun(s.Warnings, "warning"), s.Infos, "info")
	if s.Skipped > 0 {
		line += fmt.Sprintf(", %d skipped (no schema)", s.Skipped)
	}
	if s.Strict {
		line += " (strict)"
	}
	return line + " — " + verdict
}

func plural(n int, word string) string { return fmt.Sprintf("%d %s", n, noun(n, word)) }

func noun(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// Options tune a writer.
type Options struct {
	// Color adds ANSI colours to text output (callers turn it off for NO_COLOR or non-terminals).
	Color bool
	// ToolVersion is gwctl's version, for SARIF and JUnit metadata.
	ToolVersion string
}

// Writer renders findings in one format.
type Writer interface {
	Write(w io.Writer, fs []finding.Finding, sum Summary) error
}

// Formats lists the format names New accepts.
func Formats() []string { return []string{"text", "json", "junit", "sarif"} }

// New returns the writer of a format.
func New(format string, opts Options) (Writer, error) {
	switch strings.ToLower(format) {
	case "", "text":
		return Text{Color: opts.Color}, nil
	case "json":
		return JSON{}, nil
	case "junit":
		return JUnit{}, nil
	case "sarif":
		return SARIF{ToolVersion: opts.ToolVersion}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}

// Write renders findings in format with default options.
func Write(w io.Writer, format string, fs []finding.Finding, sum Summary) error {
	wr, err := New(format, Options{})
	if err != nil {
		return err
	}
	return wr.Write(w, fs, sum)
}

// Summarize counts findings; objects are the resources checked.
func Summarize(objects []Object, fs []finding.Finding, strict bool) Summary {
	s := Summary{Resources: len(objects), Strict: strict, Objects: objects}
	files := map[string]bool{}
	for _, o := range objects {
		files[o.File] = true
	}
	s.Files = len(files)
	s.Errors, s.Warnings, s.Infos = finding.Count(fs)
	for _, f := range fs {
		if f.Rule == "schema/missing" && f.Severity != finding.Error {
			s.Skipped++
		}
	}
	return s
}

// byFile groups findings by file in first-seen order of sorted findings.
func byFile(fs []finding.Finding) ([]string, map[string][]finding.Finding) {
	sorted := append([]finding.Finding(nil), fs...)
	finding.Sort(sorted)
	groups := map[string][]finding.Finding{}
	var files []string
	for _, f := range sorted {
		if _, ok := groups[f.File]; !ok {
			files = append(files, f.File)
		}
		groups[f.File] = append(groups[f.File], f)
	}
	sort.Strings(files)
	return files, groups
}
