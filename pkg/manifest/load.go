package manifest

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// IsManifestFile reports whether a file name looks like a manifest (.yaml, .yml, .json).
func IsManifestFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Files expands paths into manifest files: files as given, directories walked recursively for
// .yaml/.yml/.json (sorted; hidden entries skipped; symlinks to files followed, symlinked
// directories not entered so loops cannot trap the walk), "-" kept as stdin.
func Files(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, &Error{File: p, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		found, err := walkDir(p, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// ReadFile parses one file; "-" reads stdin.
func ReadFile(path string, stdin io.Reader, lim Limits) ([]*Object, error) {
	data, err := readData(path, stdin, lim)
	if err != nil {
		return nil, err
	}
	return parseFile(path, data, lim)
}

// parseFile is Parse with the real position of a YAML syntax error (see syntaxPos).
func parseFile(path string, data []byte, lim Limits) ([]*Object, error) {
	objs, err := Parse(path, data, lim)
	if e, ok := err.(*Error); ok && strings.HasPrefix(e.Msg, "YAML syntax: ") {
		if p, ok := syntaxPos(data, e.Pos); ok {
			e.Pos = p
		}
	}
	return objs, err
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	// A file's size is known: read it into one buffer of that size (io.ReadAll grows one by
	// doubling, allocating about twice the file).
	if max <= 0 {
		max = math.MaxInt64 - 1
	}
	size := bytes.MinRead
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() < max {
			size += int(st.Size()) // ReadFrom wants MinRead bytes free to see the end of the file
		}
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(io.LimitReader(r, max+1))
	data := buf.Bytes()
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &Error{Msg: fmt.Sprintf("input is over the limit of %d bytes", max)}
	}
	return data, nil
}

// Load reads every object from the given paths (files, directories, "-" for stdin), in order.
// Files are parsed in parallel; the first error in file order is returned.
func Load(paths []string, stdin io.Reader, lim Limits) ([]*Object, error) {
	files, err := Files(paths)
	if err != nil {
		return nil, err
	}
	type result struct {
		objs []*Object
		err  error
	}
	results := make([]result, len(files))
	// stdin is read first, once per "-", in order; workers then take the files from a shared
	// counter (a feeding goroutine would need a processor of its own for every hand-over).
	for i, f := range files {
		if f == "-" {
			results[i].objs, results[i].err = ReadFile(f, stdin, lim)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) {
					return
				}
				if files[i] != "-" {
					results[i].objs, results[i].err = ReadFile(files[i], stdin, lim)
				}
			}
		})
	}
	wg.Wait()
	n := 0
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		n += len(r.objs)
	}
	out := make([]*Object, 0, n)
	for _, r := range results {
		out = append(out, r.objs...)
	}
	return out, nil
}

// walkDir lists the manifest files under root, sorted: hidden entries are skipped (a mounted
// ConfigMap's ..data), symlinks to regular files count (resources.yaml -> ..data/resources.yaml),
// symlinked directories are not entered so loops cannot trap the walk, and a directory for which
// skip reports true is left out whole.
func walkDir(root string, skip func(dir string) bool) ([]string, error) {
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if skip != nil && skip(path) {
				return filepath.SkipDir
			}
			return nil
		}
		if !IsManifestFile(path) {
			return nil
		}
		if d.Type().IsRegular() {
			found = append(found, path)
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
				found = append(found, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(found)
	return found, nil
}
