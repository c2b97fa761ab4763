// Command gwctl resolves, renders and validates an inference-gateway platform from Git.
package main

import (
	"os"

	"github.com/infergw/gwctl/pkg/cli"
)

func main() { os.Exit(cli.Run()) }
