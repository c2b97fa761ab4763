package jwt

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jwksServer serves a mutable JWKS and counts fetches.
type jwksServer struct {
	mu      sync.Mutex
	body    string
	down    bool
	fetches atomic.Int32
}

func (s *jwksServer) set(body string, down bool) {
	s.mu.Lock()
	s.body, s.down = body, down
	s.mu.Unlock()
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte(s.body))
}

func TestRemoteJWKSRefresh(t *testing.T) {
	genKeys(t)
	k1 := testKey{"k1", "RS256", rsaKey}
	k2 := testKey{"k2", "RS256", rsaKey2}
	js := &jwksServer{body: jwksJSON(t, k1)}
	srv := httptest.NewServer(js)
	defer srv.Close()
	clk := newClock()
	a, err := New(Config{CacheSize: -1, Providers: []Provider{{Issuer: testIssuer, JWKS: JWKS{URL: srv.URL, CacheDuration: time.Hour}}}},
		Deps{Now: clk.Now, UnknownKIDInterval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	auth := func(k testKey) error {
		_, err := a.Authenticate(ctx, sign(t, k, claimsAt(clk.Now(), nil), nil))
		return err
	}
	if err := auth(k1); err != nil {
		t.Fatalf("first use fetches the set: %v", err)
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	// Rotation: k2 appears; the first k2 token within the unknown-kid interval is refused without a fetch.
	js.set(jwksJSON(t, k1, k2), false)
	if err := auth(k2); err == nil {
		t.Fatal("unknown kid accepted before the refetch interval")
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("unknown kid refetched within the interval (%d fetches)", n)
	}
	clk.Add(11 * time.Second)
	if err := auth(k2); err != nil {
		t.Fatalf("rotated key not picked up: %v", err)
	}
	// Many unknown kids in a burst cause at most one fetch.
	clk.Add(11 * time.Second)
	before := js.fetches.Load()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { _ = auth(testKey{"k3", "RS256", rsaKey}) })
	}
	wg.Wait()
	if n := js.fetches.Load() - before; n != 1 {
		t.Fatalf("unknown-kid burst caused %d fetches, want 1", n)
	}
	// Issuer down: refresh fails, the last good keys keep working.
	js.set("", true)
	if err := a.remotes[0].refresh(ctx, true); err == nil {
		t.Fatal("refresh against a down issuer succeeded")
	}
	if err := auth(k1); err != nil {
		t.Fatalf("known key lost while the issuer is down: %v", err)
	}
}

func TestStartRefreshesInBackground(t *testing.T) {
	genKeys(t)
	js := &jwksServer{body: jwksJSON(t, testKey{"k1", "RS256", rsaKey})}
	srv := httptest.NewServer(js)
	defer srv.Close()
	a, err := New(Config{Providers: []Provider{{Issuer: testIssuer, JWKS: JWKS{URL: srv.URL, CacheDuration: 20 * time.Millisecond}}}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for js.fetches.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d background fetches", js.fetches.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.Close()
	n := js.fetches.Load()
	// After Close no more fetches happen: wait a few intervals by polling a timer channel.
	<-time.After(100 * time.Millisecond)
	if js.fetches.Load() != n {
		t.Fatal("fetches continue after Close")
	}
}
