// Package config loads the dataplane's gateway resources (files, directories such as a mounted
// ConfigMap, or stdin), compiles them with pkg/gateway (the same compiler gwctl validate uses)
// and watches the files to recompile on change.
package config

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
)

// Source names where the resources come from.
type Source struct {
	// Paths are files or directories; "-" is stdin (read once, never watched).
	Paths []string
	// Stdin is read for "-".
	Stdin io.Reader
	// Options are passed to gateway.Compile.
	Options gateway.Options
	// Limits bound the input (default manifest.DefaultLimits).
	Limits manifest.Limits

	stdinData []byte
	stdinRead bool
}

// InvalidError is a config that compiled with error findings. The findings print as
// `gwctl validate` prints them (finding.String()).
type InvalidError struct {
	Findings []finding.Finding
}

func (e *InvalidError) Error() string {
	n, _, _ := finding.Count(e.Findings)
	return fmt.Sprintf("config has %d error(s)", n)
}

// Result is one load: the compiled config, every finding (warnings included) and a
// fingerprint of the input.
type Result struct {
	Config      *gateway.Config
	Findings    []finding.Finding
	Fingerprint [32]byte
}

// Load reads and compiles the source. A read or parse problem is a *manifest.Error; a config
// with error findings is an *InvalidError (the Result still carries the findings).
func (s *Source) Load() (*Result, error) {
	lim := s.Limits
	if lim == (manifest.Limits{}) {
		lim = manifest.DefaultLimits
	}
	files, err := manifest.Files(s.Paths)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	var objs []*manifest.Object
	for _, f := range files {
		var data []byte
		if f == "-" {
			if !s.stdinRead {
				s.stdinRead = true
				if s.Stdin != nil {
					s.stdinData, err = io.ReadAll(io.LimitReader(s.Stdin, lim.MaxFileBytes+1))
					if err != nil {
						return nil, &manifest.Error{File: "-", Msg: "cannot read stdin: " + err.Error()}
					}
				}
			}
			data = s.stdinData
		} else {
			data, err = os.ReadFile(f)
			if err != nil {
				return nil, &manifest.Error{File: f, Msg: "cannot read: " + unwrap(err).Error()}
			}
		}
		h.Write([]byte(f))
		h.Write([]byte{0})
		h.Write(data)
		parsed, err := manifest.Parse(f, data, lim)
		if err != nil {
			return nil, err
		}
		for _, o := range parsed {
			if gateway.Relevant(o) {
				objs = append(objs, o)
			}
		}
	}
	res := &Result{}
	copy(res.Fingerprint[:], h.Sum(nil))
	res.Config, res.Findings = gateway.Compile(objs, s.Options)
	if finding.HasErrors(res.Findings, false) {
		return res, &InvalidError{Findings: res.Findings}
	}
	return res, nil
}

// Fingerprint hashes the current input files without compiling them ("-" contributes what was
// read at the first Load), so a watcher can tell whether anything changed.
func (s *Source) Fingerprint() ([32]byte, error) {
	var out [32]byte
	files, err := manifest.Files(s.Paths)
	if err != nil {
		return out, err
	}
	h := sha256.New()
	for _, f := range files {
		data := s.stdinData
		if f != "-" {
			if data, err = os.ReadFile(f); err != nil {
				return out, &manifest.Error{File: f, Msg: "cannot read: " + unwrap(err).Error()}
			}
		}
		h.Write([]byte(f))
		h.Write([]byte{0})
		h.Write(data)
	}
	copy(out[:], h.Sum(nil))
	return out, nil
}

// Watchable reports whether any path can change (everything but stdin).
func (s *Source) Watchable() bool {
	for _, p := range s.Paths {
		if p != "-" {
			return true
		}
	}
	return false
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// FormatFindings renders findings one per line, as gwctl validate's text output does.
func FormatFindings(fs []finding.Finding) string {
	var b bytes.Buffer
	for _, f := range fs {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}
