package main

import (
	"os"
	"runtime/pprof"
	"time"

	"github.com/infergw/gwctl/hack/bench/loadgen"
)

// profileDriver starts CPU profiles of the driver for the next duration: this process (the load
// generator) into prefix-loadgen.pprof and the fake upstream at upAddr into
// prefix-upstream.pprof. The returned stop ends both and reports the first error.
func profileDriver(prefix, upAddr string, duration time.Duration) (stop func() error, err error) {
	f, err := os.Create(prefix + "-loadgen.pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	upstream := loadgen.CPUProfile(upAddr, prefix+"-upstream.pprof", duration)
	return func() error {
		pprof.StopCPUProfile()
		err := f.Close()
		if uerr := <-upstream; err == nil {
			err = uerr
		}
		return err
	}, nil
}
