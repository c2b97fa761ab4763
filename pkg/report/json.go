package report

import (
	"encoding/json"
	"io"

	"github.com/infergw/gwctl/pkg/finding"
)

// JSON prints {"findings": [...], "summary": {...}}.
type JSON struct{}

// Write implements Writer.
func (JSON) Write(w io.Writer, fs []finding.Finding, sum Summary) error {
	if fs == nil {
		fs = []finding.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Findings []finding.Finding `json:"findings"`
		Summary  Summary           `json:"summary"`
	}{fs, sum})
}
