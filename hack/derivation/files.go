package derivation

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// WriteFiles writes files (by slash-separated path relative to dir) in name order and returns
// how many bytes it wrote.
func WriteFiles(dir string, files map[string][]byte) (int, error) {
	total := 0
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return total, err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return total, err
		}
		total += len(files[name])
	}
	return total, nil
}
