package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// profiler writes a Go profile of one run, as kubectl's --profile and --profile-output do.
type profiler struct {
	kind, output string
	cpu          *os.File
}

func (p *profiler) addFlags(c *cobra.Command) {
	f := c.PersistentFlags()
	f.StringVar(&p.kind, "profile", "none", "profile to capture: none, cpu or heap (as kubectl's --profile)")
	f.StringVar(&p.output, "profile-output", "profile.pprof", "file the profile is written to (read it with go tool pprof)")
}

// start begins a CPU profile; a heap profile is taken in stop.
func (p *profiler) start() error {
	switch p.kind {
	case "none", "heap":
		return nil
	case "cpu":
		f, err := os.Create(p.output)
		if err != nil {
			return withCode(ExitUsage, fmt.Errorf("--profile-output: %w", err))
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return withCode(ExitUsage, fmt.Errorf("--profile cpu: %w", err))
		}
		p.cpu = f
		return nil
	}
	return withCode(ExitUsage, fmt.Errorf("--profile: %q is not one of none, cpu, heap", p.kind))
}

// stop finishes the profile; failures are reported on stderr and do not change the exit code.
func (p *profiler) stop(s Streams) {
	switch {
	case p.cpu != nil:
		pprof.StopCPUProfile()
		if err := p.cpu.Close(); err != nil {
			fmt.Fprintf(s.Err, "gwctl: writing the CPU profile: %v\n", err)
		}
		p.cpu = nil
	case p.kind == "heap":
		f, err := os.Create(p.output)
		if err != nil {
			fmt.Fprintf(s.Err, "gwctl: --profile-output: %v\n", err)
			return
		}
		runtime.GC()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			fmt.Fprintf(s.Err, "gwctl: writing the heap profile: %v\n", err)
		}
		if err := f.Close(); err != nil {
			fmt.Fprintf(s.Err, "gwctl: writing the heap profile: %v\n", err)
		}
	}
}
