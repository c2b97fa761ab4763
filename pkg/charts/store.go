package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// CacheDir is the chart cache's default folder, at the platform repo's root.
const CacheDir = ".gwctl/charts"

// Store is the chart cache and its lock file: what render reads remote charts from. It never
// reaches the network.
type Store struct {
	// Dir is the cache folder; LockFile the lock file.
	Dir      string
	LockFile string

	once sync.Once
	lock *Lock
	err  error
}

// NewStore is a store for a cache folder and a lock file.
func NewStore(dir, lockFile string) *Store { return &Store{Dir: dir, LockFile: lockFile} }

// Root is the platform repo's root for a catalog folder: the nearest folder, from dir up,
// that holds a lock file, a .gwctl folder or a .git entry; dir itself when none does.
func Root(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for d := abs; ; {
		for _, marker := range []string{LockFileName, ".gwctl", ".git"} {
			if _, err := os.Lstat(filepath.Join(d, marker)); err == nil {
				return d
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return abs
		}
		d = parent
	}
}

// Lock is the store's lock file, read once.
func (s *Store) Lock() (*Lock, error) {
	s.once.Do(func() { s.lock, s.err = ReadLock(s.LockFile) })
	return s.lock, s.err
}

// Path is where ref's archive is (or would be) in the cache.
func (s *Store) Path(ref Ref) string {
	return filepath.Join(s.Dir, filepath.FromSlash(ref.cachePath()))
}

// Archive returns ref's chart archive from the cache after checking it against the lock: a
// chart that is not locked, not cached or whose archive's digest differs is an error that says
// which command fixes it.
func (s *Store) Archive(ref Ref) ([]byte, error) {
	lock, err := s.Lock()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("chart %s: no lock file %s: run gwctl charts pull (the only command that fetches charts)", ref, s.LockFile)
	}
	if err != nil {
		return nil, err
	}
	e, ok := lock.Find(ref)
	if !ok {
		return nil, fmt.Errorf("chart %s is not in %s: run gwctl charts pull (the only command that fetches charts)", ref, s.LockFile)
	}
	p := s.Path(ref)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("chart %s is not in the chart cache (%s): run gwctl charts pull (the only command that fetches charts)", ref, p)
	}
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ref, err)
	}
	if d := Digest(data); d != e.Digest {
		return nil, fmt.Errorf("chart %s: %s has digest %s, %s says %s: run gwctl charts pull to fetch it again", ref, p, d, s.LockFile, e.Digest)
	}
	return data, nil
}

// Digest is the lock's digest of an archive: sha256:hex, the digest OCI registries give a
// chart layer.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
