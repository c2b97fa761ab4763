// Command run times gwctl's validation library on a directory of manifests, the way
// hack/bench/validate/peers.sh times kubeconform on the same files.
package main

// Usage
//
//	go run ./hack/bench/validate/run [-per-document] DIR...
//
// It prints one line: documents, documents rejected, wall time, documents per second.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/infergw/gwctl/pkg/cli"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate"
)

func main() {
	perDoc := flag.Bool("per-document", false, "validate each document alone (as kubeconform does): no cross-resource checks, no compiler")
	crdDir := flag.String("crd-dir", "", "extra CRDs")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	cli.TuneGC() // as cmd/gwctl does
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "run:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "run:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	opts := validate.Options{SkipCrossResource: *perDoc, SkipCompile: *perDoc, IgnoreMissingSchemas: true}
	if *crdDir != "" {
		opts.CRDDirs = []string{*crdDir}
	}
	var v *validate.Validator
	var newErr error
	ready := make(chan struct{})
	go func() { // as gwctl validate does: schemas load while the input is read
		v, newErr = validate.New(opts)
		close(ready)
	}()
	objs, err := manifest.Load(flag.Args(), os.Stdin, manifest.DefaultLimits)
	if err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(2)
	}
	<-ready
	if newErr != nil {
		fmt.Fprintln(os.Stderr, "run:", newErr)
		os.Exit(2)
	}
	fs := v.Validate(context.Background(), objs)
	elapsed := time.Since(start)
	rejected := map[string]bool{}
	for _, f := range fs {
		if f.Severity == finding.Error {
			rejected[fmt.Sprintf("%s:%s", f.File, f.Resource)] = true
		}
	}
	fmt.Printf("documents=%d rejected=%d seconds=%.3f docs_per_second=%.0f\n", len(objs), len(rejected), elapsed.Seconds(), float64(len(objs))/elapsed.Seconds())
}
