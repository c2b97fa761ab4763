package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

// FuzzWriters: whatever the messages, file names and fields hold (they come from user
// manifests), JSON and SARIF stay valid JSON and JUnit stays well-formed XML.
func FuzzWriters(f *testing.F) {
	f.Add("groups/a.yaml", "spec.rules[0]", "msg <&> \"quoted\"", "rule/x", 3)
	f.Add("", "", "\x00\x1b[31m\xff", "", 0)
	f.Fuzz(func(t *testing.T, file, field, msg, rule string, line int) {
		fs := []finding.Finding{{File: file, Line: line, Column: 1, Field: field, Message: msg, Rule: rule, Severity: finding.Severity((line & 3) % 3),
			Resource: finding.Resource{Kind: "K", Name: msg}}}
		sum := Summarize([]Object{{File: file}}, fs, line%2 == 0)
		for _, format := range Formats() {
			var buf bytes.Buffer
			w, _ := New(format, Options{Color: true})
			if err := w.Write(&buf, fs, sum); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			switch format {
			case "json", "sarif":
				if !json.Valid(buf.Bytes()) {
					t.Fatalf("%s: invalid JSON:\n%s", format, buf.String())
				}
			case "junit":
				var s junitSuites
				if err := xml.Unmarshal(buf.Bytes(), &s); err != nil {
					t.Fatalf("junit: %v\n%s", err, buf.String())
				}
			}
		}
	})
}
