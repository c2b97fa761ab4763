// Package backend builds one http.Handler per compiled backend: a registry maps each backend
// kind (Service, AI, MCP, InferencePool, Static) to a constructor, and a kind without one answers
// 501, saying the kind is not served by this build.
package backend

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/infergw/gwctl/dataplane/router"
	"github.com/infergw/gwctl/pkg/gateway"
)

// Factory builds the handler of one backend. A handler that holds resources (goroutines,
// connections) should implement io.Closer; Set.Close calls it when the config is replaced.
type Factory func(b *gateway.Backend) (http.Handler, error)

// Registry maps backend kinds to factories. Register everything before the first Build; it
// is not safe to Register concurrently with Build.
type Registry struct {
	factories map[gateway.BackendKind]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{factories: map[gateway.BackendKind]Factory{}}
}

// Register sets the factory for a kind, replacing any earlier one.
func (r *Registry) Register(kind gateway.BackendKind, f Factory) { r.factories[kind] = f }

// Served reports whether a kind has a factory.
func (r *Registry) Served(kind gateway.BackendKind) bool { return r.factories[kind] != nil }

// Set is the handlers built for one config.
type Set struct {
	Handlers map[string]http.Handler // by gateway.Backend.ID
}

// Build makes a handler for every backend of cfg. A factory error fails the build (the config
// is then rejected and the previous one keeps serving); already built handlers are closed.
func (r *Registry) Build(cfg *gateway.Config) (*Set, error) {
	s := &Set{Handlers: make(map[string]http.Handler, len(cfg.Backends))}
	ids := make([]string, 0, len(cfg.Backends))
	for id := range cfg.Backends {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		b := cfg.Backends[id]
		f := r.factories[b.Kind]
		if f == nil {
			s.Handlers[id] = router.NotServed(b)
			continue
		}
		h, err := f(b)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("backend %s: %w", id, err)
		}
		s.Handlers[id] = h
	}
	return s, nil
}

// Close releases every handler that implements io.Closer.
func (s *Set) Close() error {
	var errs []error
	for id, h := range s.Handlers {
		if c, ok := h.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("backend %s: %w", id, err))
			}
		}
	}
	return errors.Join(errs...)
}
