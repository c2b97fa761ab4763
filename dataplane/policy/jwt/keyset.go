package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxJWKSBytes bounds a fetched JWKS document.
const maxJWKSBytes = 1 << 20

// keySource yields the keys of one provider.
type keySource interface {
	// lookup returns the key with kid, refreshing a remote set (rate-limited) when the kid is unknown.
	lookup(ctx context.Context, kid string) (*Key, error)
}

type staticKeys KeySet

func (s staticKeys) lookup(_ context.Context, kid string) (*Key, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKID
}

var errUnknownKID = errors.New("unknown kid")

// remoteKeys is a JWKS fetched from a URL, refreshed every interval in the background and on an
// unknown kid at most once per unknownEvery. The last good set is kept when a fetch fails.
type remoteKeys struct {
	url          string
	client       *http.Client
	interval     time.Duration
	unknownEvery time.Duration
	log          *slog.Logger
	metrics      *metrics
	now          func() time.Time

	keys atomic.Pointer[KeySet]

	mu        sync.Mutex
	lastTry   time.Time     // start of the last fetch, for the unknown-kid limit
	inflight  chan struct{} // closed when the running fetch ends
	lastErr   error
	healthy   bool
	everTried bool
}

func (r *remoteKeys) lookup(ctx context.Context, kid string) (*Key, error) {
	if ks := r.keys.Load(); ks != nil {
		if k, ok := (*ks)[kid]; ok {
			return k, nil
		}
	}
	if err := r.refresh(ctx, false); err != nil && r.keys.Load() == nil {
		return nil, fmt.Errorf("no JWKS from %s yet: %w", r.url, err)
	}
	if ks := r.keys.Load(); ks != nil {
		if k, ok := (*ks)[kid]; ok {
			return k, nil
		}
	}
	return nil, errUnknownKID
}

// refresh fetches the set once, coalescing concurrent callers. Unless forced, a fetch is skipped
// when one started less than unknownEvery ago (the first fetch always runs).
func (r *remoteKeys) refresh(ctx context.Context, force bool) error {
	r.mu.Lock()
	if ch := r.inflight; ch != nil {
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
		err := r.lastErr
		r.mu.Unlock()
		return err
	}
	if !force && r.everTried && r.now().Sub(r.lastTry) < r.unknownEvery {
		err := r.lastErr
		r.mu.Unlock()
		return err
	}
	ch := make(chan struct{})
	r.inflight, r.lastTry, r.everTried = ch, r.now(), true
	r.mu.Unlock()

	// The fetch belongs to the key set, not to the request that triggered it: a client hanging up
	// must not cancel it for everyone waiting.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	ks, err := r.fetch(fctx)
	cancel()

	r.mu.Lock()
	if err == nil {
		r.keys.Store(&ks)
	}
	wasHealthy := r.healthy
	r.lastErr, r.healthy, r.inflight = err, err == nil, nil
	r.mu.Unlock()
	close(ch)

	r.metrics.fetch(err == nil)
	switch {
	case err != nil && (wasHealthy || !r.everHadKeys()):
		r.log.Warn("jwks fetch failed; keeping the last good keys", "url", r.url, "error", err)
	case err == nil && !wasHealthy:
		r.log.Info("jwks fetched", "url", r.url, "keys", len(ks))
	}
	return err
}

func (r *remoteKeys) everHadKeys() bool { return r.keys.Load() != nil }

func (r *remoteKeys) fetch(ctx context.Context) (KeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", r.url, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks %s: status %d", r.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", r.url, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("jwks %s: document larger than %d bytes", r.url, maxJWKSBytes)
	}
	// A remote set may carry keys we cannot use (oct, enc); skip them rather than lose the rest.
	ks, skipped, err := parseRemoteJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", r.url, err)
	}
	for _, s := range skipped {
		r.log.Debug("jwks key skipped", "url", r.url, "reason", s.Error())
	}
	return ks, nil
}

// parseRemoteJWKS is ParseJWKS that skips symmetric keys instead of failing on them.
func parseRemoteJWKS(body []byte) (KeySet, []error, error) {
	ks, skipped, err := ParseJWKS(body)
	if err == nil {
		return ks, skipped, nil
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if jerr := json.Unmarshal(body, &doc); jerr != nil {
		return nil, nil, err
	}
	kept := doc.Keys[:0]
	var dropped []error
	for _, k := range doc.Keys {
		if k["kty"] == "oct" {
			dropped = append(dropped, errors.New("symmetric (oct) key skipped"))
			continue
		}
		kept = append(kept, k)
	}
	if len(dropped) == 0 {
		return nil, nil, err
	}
	again, err := json.Marshal(map[string]any{"keys": kept})
	if err != nil {
		return nil, nil, err
	}
	ks, skipped, err = ParseJWKS(again)
	return ks, append(dropped, skipped...), err
}

// run refreshes the set every interval until ctx ends.
func (r *remoteKeys) run(ctx context.Context) {
	_ = r.refresh(ctx, true)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.refresh(ctx, true)
		}
	}
}
