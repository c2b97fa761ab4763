// Command gen writes the benchmark corpus: go run ./hack/bench/validate/gen -n 10000 -out DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/infergw/gwctl/internal/corpus"
)

func main() {
	n := flag.Int("n", 10000, "documents to generate")
	out := flag.String("out", "", "directory to write to (created)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -out is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	files, st := corpus.Generate(*n)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(*out, f.Name), f.Data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("%d documents (%d invalid, %d built-in kinds) in %d files under %s\n", st.Documents, st.Invalid, st.BuiltIn, len(files), *out)
}
