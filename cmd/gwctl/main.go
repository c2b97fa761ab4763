// Command gwctl resolves, renders and validates an inference-gateway platform from Git.
package main

import (
	"os"

	"github.com/infergw/gwctl/pkg/cli"
)

func main() {
	cli.TuneGC()
	os.Exit(cli.Run())
}
