package report

import (
	"encoding/json"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
)

// SARIF prints a SARIF 2.1.0 log with one run, as GitHub code scanning accepts it: relative
// artifact URIs, 1-based regions, one reporting descriptor per rule id.
type SARIF struct{ ToolVersion string }

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	DefaultConfiguration sarifConfig  `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind"`
}

func sarifLevel(s finding.Severity) string {
	switch s {
	case finding.Error:
		return "error"
	case finding.Warning:
		return "warning"
	}
	return "note"
}

// ruleDescriptions are short descriptions of rule families, by id prefix.
var ruleDescriptions = map[string]string{
	"schema":   "The manifest does not pass the API server's checks for its kind",
	"metadata": "The object's metadata would be rejected by the API server",
	"builtin":  "A built-in kind's field would be rejected by the API server",
	"version":  "The field or value exists only in another agentgateway release",
	"refs":     "A reference to another resource does not resolve",
	"set":      "The set of manifests holds conflicting objects",
	"lint":     "agentgateway accepts this but behaves other than the manifest suggests",
	"gateway":  "The dataplane does not accept this configuration",
}

// Write implements Writer.
func (s SARIF) Write(w io.Writer, fs []finding.Finding, _ Summary) error {
	sorted := append([]finding.Finding(nil), fs...)
	finding.Sort(sorted)
	index := map[string]int{}
	levels := map[string]finding.Severity{}
	for _, f := range sorted {
		if lv, ok := levels[f.Rule]; !ok || f.Severity > lv {
			levels[f.Rule] = f.Severity
		}
	}
	ids := make([]string, 0, len(levels))
	for id := range levels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	driver := sarifDriver{Name: "gwctl", Version: s.ToolVersion, InformationURI: "https://github.com/infergw/gwctl", Rules: []sarifRule{}}
	for i, id := range ids {
		index[id] = i
		family, _, _ := strings.Cut(id, "/")
		desc := ruleDescriptions[family]
		if desc == "" {
			desc = id
		}
		driver.Rules = append(driver.Rules, sarifRule{ID: id, Name: id, ShortDescription: sarifMessage{desc}, DefaultConfiguration: sarifConfig{sarifLevel(levels[id])}})
	}
	run := sarifRun{Tool: sarifTool{driver}, Results: []sarifResult{}}
	for _, f := range sorted {
		msg := f.Message
		if r := f.Resource.String(); r != "" {
			if f.Field != "" {
				msg = r + " " + f.Field + ": " + msg
			} else {
				msg = r + ": " + msg
			}
		}
		line := f.Line
		if line < 1 {
			line = 1
		}
		loc := sarifLocation{PhysicalLocation: sarifPhysical{
			ArtifactLocation: sarifArtifact{URI: artifactURI(f.File), URIBaseID: "%SRCROOT%"},
			Region:           sarifRegion{StartLine: line, StartColumn: f.Column},
		}}
		if r := f.Resource.String(); r != "" {
			loc.LogicalLocations = []sarifLogical{{Name: f.Resource.Name, FullyQualifiedName: r, Kind: "object"}}
		}
		run.Results = append(run.Results, sarifResult{RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity), Message: sarifMessage{msg}, Locations: []sarifLocation{loc}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// artifactURI makes a file path a relative URI with forward slashes (code scanning resolves it
// against the checkout root).
func artifactURI(file string) string {
	if file == "" || file == "-" {
		return "stdin"
	}
	p := filepath.ToSlash(filepath.Clean(file))
	p = strings.TrimPrefix(p, "./")
	return strings.ReplaceAll(p, " ", "%20")
}
