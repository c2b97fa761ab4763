// Package certs holds the certificates the dataplane serves on HTTPS listeners and presents to
// upstreams: each from a Secret of the compiled config, the secrets directory or (in Kubernetes
// mode) the API, checked before it replaces the one in use and swapped atomically, so a
// rotation needs no restart, keeps every open connection and never installs a bad certificate.
package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infergw/gwctl/pkg/gateway"
)

// Sources of a certificate, for logs and metrics.
const (
	SourceConfig = "config"      // a Secret of the compiled resources
	SourceDir    = "secrets-dir" // <dir>/<name>/tls.crt and tls.key
	SourceAPI    = "api"         // Update, called by the Kubernetes source
)

// Store holds the key pairs by Secret (namespace/name). Handshakes read them without locks.
type Store struct {
	dir     string
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	mu      sync.Mutex // serializes updates; readers use the entries' atomic pointers
	entries atomic.Pointer[map[string]*entry]
}

// entry is one Secret's key pair. The pointer is replaced, never the certificate it points to,
// so a connection that already handshook with one keeps it.
type entry struct {
	id      string
	cert    atomic.Pointer[tls.Certificate]
	source  string
	lastCrt []byte // what was last read (installed or refused), so a bad file is reported once
	lastKey []byte
}

// Options configure a Store.
type Options struct {
	// Dir is the secrets directory ("" for none).
	Dir string
	// Logger receives one line per installed or refused certificate (never key material).
	Logger *slog.Logger
	// Registerer receives the certificate metrics (nil: none).
	Registerer prometheus.Registerer
	// Now is the clock validity is checked against (default time.Now).
	Now func() time.Time
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{dir: opts.Dir, log: opts.Logger, now: opts.Now, metrics: newMetrics(opts.Registerer)}
	empty := map[string]*entry{}
	s.entries.Store(&empty)
	return s
}

// Get returns the certificate in use for a Secret, nil when none is loaded.
func (s *Store) Get(namespace, name string) *tls.Certificate {
	if e := (*s.entries.Load())[namespace+"/"+name]; e != nil {
		return e.cert.Load()
	}
	return nil
}

// slot returns the entry of a Secret, for handshakes to read on every call; it exists once
// Sync has seen a reference to the Secret.
func (s *Store) slot(namespace, name string) *entry {
	return (*s.entries.Load())[namespace+"/"+name]
}

// Sync loads the Secrets refs names: Secrets of the config are installed from it; the others
// are read from the secrets directory (and then watched). Entries of other Secrets stay until
// Retain, so a config that is refused after Sync leaves the one in use whole. A Secret that
// cannot be loaded is logged and its listener fails handshakes until it can: Sync never fails
// the config.
func (s *Store) Sync(refs []gateway.CertificateRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := *s.entries.Load()
	next := make(map[string]*entry, len(prev)+len(refs))
	for id, e := range prev {
		next[id] = e
	}
	seen := map[string]bool{}
	for _, r := range refs {
		id := r.ID()
		if seen[id] {
			continue
		}
		seen[id] = true
		e := next[id]
		if e == nil {
			e = &entry{id: id}
		}
		next[id] = e
		switch {
		case r.InInput:
			e.source = SourceConfig
			_ = s.install(e, r.CertPEM, r.KeyPEM) // logged and counted there
		case e.source == SourceAPI:
			// Kubernetes mode keeps it current through Update.
		case s.dir != "":
			e.source = SourceDir
			s.readDir(e, r.Name)
		default:
			if e.cert.Load() == nil {
				s.log.Error("certificate Secret not available: its listener fails TLS handshakes", slog.String("secret", id),
					slog.String("why", "not in the config, and no --secrets-dir"))
			}
		}
	}
	s.entries.Store(&next)
	s.metrics.loaded(next)
}

// Update installs a Secret's new certificate and key (Kubernetes mode calls it when the API
// reports a change). A certificate that does not parse, whose key does not match, or that
// is outside its validity period while the one in use is valid, is refused: the one in use
// stays, and the error says why (never with key material).
func (s *Store) Update(namespace, name string, certPEM, keyPEM []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := namespace + "/" + name
	m := *s.entries.Load()
	e := m[id]
	if e == nil {
		// Not referenced (yet): keep it, so a config that refers to it later finds it.
		next := make(map[string]*entry, len(m)+1)
		for k, v := range m {
			next[k] = v
		}
		e = &entry{id: id}
		next[id] = e
		s.entries.Store(&next)
	}
	e.source = SourceAPI
	return s.install(e, certPEM, keyPEM)
}

// install checks and swaps in a key pair; s.mu is held.
func (s *Store) install(e *entry, certPEM, keyPEM []byte) error {
	if bytes.Equal(certPEM, e.lastCrt) && bytes.Equal(keyPEM, e.lastKey) {
		return nil
	}
	e.lastCrt, e.lastKey = certPEM, keyPEM
	pair, err := gateway.ParseKeyPair(certPEM, keyPEM)
	cur := e.cert.Load()
	if err == nil {
		if verr := gateway.CheckValidity(pair.Leaf, s.now()); verr != nil {
			if cur != nil && gateway.CheckValidity(cur.Leaf, s.now()) == nil {
				err = verr
			} else {
				s.log.Warn("installing a certificate outside its validity period: no valid one to keep", slog.String("secret", e.id),
					slog.String("source", e.source), slog.String("why", verr.Error()))
			}
		}
	}
	if err != nil {
		s.metrics.refused.WithLabelValues(e.id, reason(err)).Inc()
		if cur != nil {
			s.log.Error("certificate refused: keeping the one in use", slog.String("secret", e.id), slog.String("source", e.source),
				slog.String("why", err.Error()), slog.Time("in_use_expires", cur.Leaf.NotAfter))
		} else {
			s.log.Error("certificate refused: its listener fails TLS handshakes until a valid one arrives", slog.String("secret", e.id),
				slog.String("source", e.source), slog.String("why", err.Error()))
		}
		return fmt.Errorf("certificate %s: %w", e.id, err)
	}
	e.cert.Store(&pair)
	s.metrics.installed.WithLabelValues(e.id).Inc()
	s.metrics.expiry.WithLabelValues(e.id).Set(float64(pair.Leaf.NotAfter.Unix()))
	if cur != nil {
		s.log.Info("certificate rotated", slog.String("secret", e.id), slog.String("source", e.source),
			slog.Time("expires", pair.Leaf.NotAfter), slog.Any("names", gateway.CertNames(pair.Leaf)))
	}
	return nil
}

// reason is the metric label of a refused certificate.
func reason(err error) string {
	switch {
	case errors.Is(err, gateway.ErrKeyMismatch):
		return "key_mismatch"
	case errors.Is(err, gateway.ErrKeyMalformed):
		return "malformed_key"
	case errors.Is(err, gateway.ErrCertExpired):
		return "expired"
	case errors.Is(err, gateway.ErrCertNotYetValid):
		return "not_yet_valid"
	case errors.Is(err, errUnreadable):
		return "unreadable"
	}
	return "malformed_certificate"
}

var errUnreadable = errors.New("cannot read")

// readDir reads <dir>/<name>/tls.crt and tls.key and installs them when they changed. The
// kubelet swaps a mounted Secret's files at once (a symlinked ..data directory); reading the
// certificate again after the key catches a read that straddled the swap, which is retried.
func (s *Store) readDir(e *entry, name string) {
	if !validName(name) {
		return
	}
	crtPath, keyPath := filepath.Join(s.dir, name, "tls.crt"), filepath.Join(s.dir, name, "tls.key")
	for try := 0; try < 3; try++ {
		crt, err1 := os.ReadFile(crtPath)
		key, err2 := os.ReadFile(keyPath)
		again, err3 := os.ReadFile(crtPath)
		if err := errors.Join(err1, err2, err3); err != nil {
			if e.cert.Load() == nil && e.lastCrt == nil {
				e.lastCrt = []byte{} // log once
				s.metrics.refused.WithLabelValues(e.id, "unreadable").Inc()
				s.log.Error("certificate Secret not mounted: its listener fails TLS handshakes until it is", slog.String("secret", e.id),
					slog.String("dir", filepath.Join(s.dir, name)))
			}
			return
		}
		if bytes.Equal(crt, again) {
			_ = s.install(e, crt, key)
			return
		}
	}
}

func validName(n string) bool {
	return n != "" && n != "." && n != ".." && filepath.Base(n) == n && n[0] != '.'
}

// Refresh rereads every Secret of the secrets directory (Watch calls it).
func (s *Store) Refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := *s.entries.Load()
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if e := m[id]; e.source == SourceDir {
			_, name, _ := strings.Cut(id, "/")
			s.readDir(e, name)
		}
	}
}

// Watch refreshes the directory's certificates every interval until ctx is done.
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
			s.Refresh()
		}
	}
}

type metrics struct {
	installed *prometheus.CounterVec
	refused   *prometheus.CounterVec
	expiry    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		installed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dataplane_tls_certificate_updates_total", Help: "Certificates installed (first load and rotations), by Secret.",
		}, []string{"secret"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dataplane_tls_certificate_refused_total", Help: "New certificates refused (the one in use stays), by Secret and reason.",
		}, []string{"secret", "reason"}),
		expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dataplane_tls_certificate_expiry_timestamp_seconds", Help: "When the certificate in use expires, by Secret.",
		}, []string{"secret"}),
	}
	if reg != nil {
		reg.MustRegister(m.installed, m.refused, m.expiry)
	}
	return m
}

// loaded drops the expiry series of Secrets no longer referenced.
func (m *metrics) loaded(entries map[string]*entry) {
	m.expiry.Reset()
	for _, e := range entries {
		if c := e.cert.Load(); c != nil {
			m.expiry.WithLabelValues(e.id).Set(float64(c.Leaf.NotAfter.Unix()))
		}
	}
}

// Retain drops the entries of Secrets refs does not name (once a config that no longer uses
// them is installed); connections and configurations holding their certificate keep it.
func (s *Store) Retain(refs []gateway.CertificateRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := make(map[string]bool, len(refs))
	for _, r := range refs {
		keep[r.ID()] = true
	}
	prev := *s.entries.Load()
	next := make(map[string]*entry, len(keep))
	for id, e := range prev {
		if keep[id] || e.source == SourceAPI {
			next[id] = e
		}
	}
	s.entries.Store(&next)
	s.metrics.loaded(next)
}
