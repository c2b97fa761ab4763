// Package cli wires gwctl's cobra commands to the libraries in pkg/: each command parses flags
// into an options struct and calls a library; no logic lives here.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/infergw/gwctl/pkg/docschema"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/resolve"
)

// Exit codes: 0 ok, 1 findings or drift, 2 usage or input error.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitUsage    = 2
)

// exitError carries an exit code with an already-printed (or printable) message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// withCode marks err with an exit code; a nil err with a code means "exit quietly".
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// Streams are the command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Main runs gwctl with args and returns the process exit code.
func Main(args []string, s Streams, environ []string) int {
	root := NewRoot(s, environ)
	prof := &profiler{}
	prof.addFlags(root)
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return prof.start() }
	root.SetArgs(args)
	err := root.Execute()
	prof.stop(s)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(s.Err, "gwctl: %s\n", msg)
	}
	return code
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var (
		pe *platform.Error
		re *resolve.Error
		de *render.Error
		me *manifest.Error
		ve docschema.Errors
	)
	switch {
	case errors.As(err, &pe), errors.As(err, &re), errors.As(err, &de), errors.As(err, &me), errors.As(err, &ve):
		return ExitUsage
	}
	// Flag parsing errors and anything else the user gave us wrong.
	return ExitUsage
}

// NewRoot builds the command tree.
func NewRoot(s Streams, environ []string) *cobra.Command {
	g := &globalOptions{streams: s, environ: environ}
	root := &cobra.Command{
		Use:   "gwctl",
		Short: "Run an inference-gateway platform from Git",
		Long: `gwctl resolves feature groups, renders them (Helm and Kustomize, in-process) into one ordered
YAML stream, and validates manifests the way the API server and the dataplane would, offline.

With no config it works on the bundled example platform (every optional feature off).
This gwctl is github.com/infergw/gwctl, not the Gateway API project's kubernetes-sigs/gwctl.`,
		Example: `  gwctl resolve-groups                         # enabled groups of the bundled platform
  gwctl render | kubectl apply -f -            # render and apply
  gwctl render --enable egress --set secretStore.name=vault
  gwctl render | gwctl validate - --closed     # validate what would be applied`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(ExitUsage, fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	g.addFlags(root)
	root.AddCommand(
		newVersion(s),
		newResolveGroups(g),
		newRender(g),
		newCharts(g),
		newSchema(g),
		newValidate(g),
		newControls(g),
		newRunbook(g),
	)
	return root
}

// Run is Main with the process's streams and environment.
func Run() int {
	return Main(os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Environ())
}
