package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
)

// Text prints findings grouped by file, one per line, then the summary line.
type Text struct{ Color bool }

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
)

func (t Text) paint(code, s string) string {
	if !t.Color {
		return s
	}
	return code + s + ansiReset
}

// Write implements Writer.
func (t Text) Write(w io.Writer, fs []finding.Finding, sum Summary) error {
	bw := bufio.NewWriter(w)
	files, groups := byFile(fs)
	for _, file := range files {
		name := file
		if name == "" {
			name = "(whole input)"
		}
		fmt.Fprintln(bw, t.paint(ansiBold, name))
		for _, f := range groups[file] {
			pos := ""
			if f.Line > 0 {
				pos = fmt.Sprintf("%d:%d", f.Line, f.Column)
			}
			sev := f.Severity.String()
			switch f.Severity {
			case finding.Error:
				sev = t.paint(ansiRed, fmt.Sprintf("%-7s", sev))
			case finding.Warning:
				sev = t.paint(ansiYellow, fmt.Sprintf("%-7s", sev))
			default:
				sev = t.paint(ansiBlue, fmt.Sprintf("%-7s", sev))
			}
			subject := strings.TrimSpace(f.Resource.String() + " " + f.Field)
			if subject != "" {
				subject += ": "
			}
			fmt.Fprintf(bw, "  %-8s %s %s%s %s\n", pos, sev, subject, f.Message, t.paint(ansiDim, "["+f.Rule+"]"))
		}
	}
	if len(files) > 0 {
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw, sum.Line())
	return bw.Flush()
}
