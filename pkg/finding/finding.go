// Package finding is the one shape of a problem found in manifests, shared by the compiler
// (pkg/gateway), the validator (pkg/validate) and the reporters (pkg/report).
package finding

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity orders findings: an Error fails validation, a Warning fails it only with --strict.
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// MarshalText renders the severity as its name in JSON and YAML.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads a severity name as printed by String.
func ParseSeverity(v string) (Severity, error) {
	switch strings.ToLower(v) {
	case "error":
		return Error, nil
	case "warning", "warn":
		return Warning, nil
	case "info":
		return Info, nil
	}
	return Info, fmt.Errorf("unknown severity %q (want error, warning or info)", v)
}

// Resource names the object a finding is about.
type Resource struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
}

func (r Resource) String() string {
	if r.Kind == "" {
		return ""
	}
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Finding is one problem: where it is, what rule found it, and what is wrong.
type Finding struct {
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Column   int      `json:"column,omitempty"`
	Resource Resource `json:"resource"`
	// Field is the path inside the object in the API server's notation: spec.rules[0].backendRefs[1].port.
	Field    string   `json:"field,omitempty"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// Position is file:line:column, or as much of it as is known.
func (f Finding) Position() string {
	switch {
	case f.File == "":
		return ""
	case f.Line == 0:
		return f.File
	case f.Column == 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
}

func (f Finding) String() string {
	var b strings.Builder
	if p := f.Position(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	b.WriteString(f.Severity.String())
	if r := f.Resource.String(); r != "" {
		b.WriteString(" ")
		b.WriteString(r)
	}
	if f.Field != "" {
		b.WriteString(" ")
		b.WriteString(f.Field)
	}
	b.WriteString(": ")
	b.WriteString(f.Message)
	if f.Rule != "" {
		b.WriteString(" [")
		b.WriteString(f.Rule)
		b.WriteString("]")
	}
	return b.String()
}

// Sort orders findings by file, line, column, then rule and message, so output is stable;
// findings equal in all of these keep their order. (It sorts positions and moves each finding
// once: a stable in-place sort of the structs themselves moved each many times.)
func Sort(fs []Finding) {
	// Callers often sort again after appending nothing out of order (gwctl validate sorts the
	// validator's sorted findings after tuning): then there is nothing to move.
	inOrder := true
	for i := 1; i < len(fs) && inOrder; i++ {
		inOrder = compareFindings(&fs[i-1], &fs[i]) <= 0
	}
	if inOrder {
		return
	}
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		if c := compareFindings(&fs[i], &fs[j]); c != 0 {
			return c
		}
		return cmp.Compare(i, j)
	})
	sorted := make([]Finding, len(fs))
	for k, i := range order {
		sorted[k] = fs[i]
	}
	copy(fs, sorted)
}

// compareFindings orders by file, line, column, rule and message.
func compareFindings(a, b *Finding) int {
	switch {
	case a.File != b.File:
		return strings.Compare(a.File, b.File)
	case a.Line != b.Line:
		return cmp.Compare(a.Line, b.Line)
	case a.Column != b.Column:
		return cmp.Compare(a.Column, b.Column)
	case a.Rule != b.Rule:
		return strings.Compare(a.Rule, b.Rule)
	}
	return strings.Compare(a.Message, b.Message)
}

// Count returns how many findings have each severity.
func Count(fs []Finding) (errors, warnings, infos int) {
	for _, f := range fs {
		switch f.Severity {
		case Error:
			errors++
		case Warning:
			warnings++
		default:
			infos++
		}
	}
	return
}

// HasErrors reports whether any finding is an Error (or a Warning when strict).
func HasErrors(fs []Finding, strict bool) bool {
	for _, f := range fs {
		if f.Severity == Error || (strict && f.Severity == Warning) {
			return true
		}
	}
	return false
}
