package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
)

// JUnit prints one test suite per file and one test case per resource; errors (and warnings
// when strict) are failures, the rest goes to system-out.
type JUnit struct{}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// Write implements Writer.
func (JUnit) Write(w io.Writer, fs []finding.Finding, sum Summary) error {
	type caseKey struct{ file, resource string }
	cases := map[caseKey][]finding.Finding{}
	var order []caseKey
	add := func(k caseKey) {
		if _, ok := cases[k]; !ok {
			cases[k] = nil
			order = append(order, k)
		}
	}
	for _, o := range sum.Objects {
		add(caseKey{o.File, o.Resource.String()})
	}
	files, groups := byFile(fs)
	for _, file := range files {
		for _, f := range groups[file] {
			k := caseKey{f.File, f.Resource.String()}
			add(k)
			cases[k] = append(cases[k], f)
		}
	}
	suites := map[string]*junitSuite{}
	var suiteOrder []string
	out := junitSuites{Name: "gwctl validate"}
	for _, k := range order {
		s, ok := suites[k.file]
		if !ok {
			s = &junitSuite{Name: k.file}
			if k.file == "" {
				s.Name = "(whole input)"
			}
			suites[k.file] = s
			suiteOrder = append(suiteOrder, k.file)
		}
		name := k.resource
		if name == "" {
			name = "(whole input)"
		}
		c := junitCase{Name: name, ClassName: k.file}
		var fail, other []string
		for _, f := range cases[k] {
			line := strings.TrimPrefix(f.String(), ": ")
			if f.Severity == finding.Error || (sum.Strict && f.Severity == finding.Warning) {
				fail = append(fail, line)
			} else {
				other = append(other, line)
			}
		}
		if len(fail) > 0 {
			c.Failure = &junitFailure{Message: fmt.Sprintf("%d problem(s)", len(fail)), Type: "validation", Text: strings.Join(fail, "\n")}
			s.Failures++
			out.Failures++
		}
		c.SystemOut = strings.Join(other, "\n")
		s.Cases = append(s.Cases, c)
		s.Tests++
		out.Tests++
	}
	for _, f := range suiteOrder {
		out.Suites = append(out.Suites, *suites[f])
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
