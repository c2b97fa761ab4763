// Package secrets reads provider credentials from a directory of mounted Secrets
// (<dir>/<secret-name>/<key>, one file per key, as Kubernetes mounts a Secret volume) and
// keeps them current as the mount changes. Values never appear in errors or logs.
package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotFound is wrapped by Get's error when the secret or key does not exist.
var ErrNotFound = errors.New("not found")

// Store serves secret values from a directory. The zero value is not usable; use New.
type Store struct {
	dir    string
	log    *slog.Logger
	values atomic.Pointer[map[string]string] // "name/key" -> value
	mu     sync.Mutex                        // serializes Reload
}

// New returns a store over dir (which may not exist yet) and loads what is there.
func New(dir string, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: dir, log: log}
	empty := map[string]string{}
	s.values.Store(&empty)
	if dir != "" {
		_ = s.Reload()
	}
	return s
}

// Get returns the value of key in the Secret name, surrounding whitespace removed. A secret
// that appeared since the last reload is read from disk at once. The error names the secret
// and key, never a value.
func (s *Store) Get(name, key string) (string, error) {
	if s == nil {
		return "", fmt.Errorf("secret %q key %q: no secrets directory configured: %w", name, key, ErrNotFound)
	}
	if !validName(name) || !validName(key) {
		return "", fmt.Errorf("secret %q key %q: invalid name: %w", name, key, ErrNotFound)
	}
	if v, ok := (*s.values.Load())[name+"/"+key]; ok {
		return v, nil
	}
	if s.dir == "" {
		return "", fmt.Errorf("secret %q key %q: not found: %w", name, key, ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, name, key))
	if err != nil {
		return "", fmt.Errorf("secret %q key %q: not mounted under %s: %w", name, key, s.dir, ErrNotFound)
	}
	v := bytes.TrimSpace(b)
	if len(v) == 0 {
		// An empty key is never a credential (and a file caught mid-write reads empty).
		return "", fmt.Errorf("secret %q key %q: empty under %s: %w", name, key, s.dir, ErrNotFound)
	}
	return string(v), nil
}

func validName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, `/\`) && !strings.HasPrefix(n, "..")
}

// Replace swaps in values ("name/key" -> value) read from elsewhere (the API server in
// Kubernetes mode, for a store without a directory). Empty values are dropped, as Reload does.
func (s *Store) Replace(values map[string]string) {
	next := make(map[string]string, len(values))
	for k, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			next[k] = v
		}
	}
	s.values.Store(&next)
}

// Reload rereads the whole directory and swaps the values in at once.
func (s *Store) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]string{}
	secrets, err := os.ReadDir(s.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("secrets directory %s: %w", s.dir, err)
	}
	for _, sd := range secrets {
		if strings.HasPrefix(sd.Name(), ".") {
			continue
		}
		sdir := filepath.Join(s.dir, sd.Name())
		if st, err := os.Stat(sdir); err != nil || !st.IsDir() {
			continue
		}
		keys, err := os.ReadDir(sdir)
		if err != nil {
			continue
		}
		for _, k := range keys {
			// Mounted Secrets hold "..data" and timestamped dirs beside symlinked keys.
			if strings.HasPrefix(k.Name(), ".") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(sdir, k.Name()))
			if v := bytes.TrimSpace(b); err == nil && len(v) > 0 {
				next[sd.Name()+"/"+k.Name()] = string(v)
			}
		}
	}
	prev := *s.values.Load()
	if changed(prev, next) {
		s.log.Info("secrets reloaded", slog.String("dir", s.dir), slog.Int("keys", len(next)))
	}
	s.values.Store(&next)
	return nil
}

func changed(a, b map[string]string) bool {
	if len(a) != len(b) {
		return true
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return true
		}
	}
	return false
}

// Watch reloads every interval until ctx is done.
func (s *Store) Watch(ctx context.Context, interval time.Duration) {
	if s.dir == "" {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Reload(); err != nil {
				s.log.Warn("secrets reload failed", slog.String("error", err.Error()))
			}
		}
	}
}

// Key returns a function reading one key on every call (e.g. an LLM provider's API key
// source), so a rotated or late-mounted Secret is picked up without a reload.
func (s *Store) Key(name, key string) func() (string, error) {
	return func() (string, error) { return s.Get(name, key) }
}
