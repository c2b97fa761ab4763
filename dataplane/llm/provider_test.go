package llm

import (
	"strings"
	"testing"
)

func TestProviderConfigNewUpstream(t *testing.T) {
	p := Provider{ID: "acme", Name: "Acme", DefaultHost: "api.acme.test", DefaultPathPrefix: "/v2", KeyRequired: true}
	key := func() (string, error) { return "k", nil }
	newT := func() Translator { return &echo{} }
	for _, tc := range []struct {
		name    string
		cfg     ProviderConfig
		p       Provider
		wantURL string
		wantErr string
	}{
		{"defaults", ProviderConfig{APIKey: key}, p, "https://api.acme.test/v2", ""},
		{"override", ProviderConfig{APIKey: key, Host: "127.0.0.1", Port: 8080, PathPrefix: "v1/", Plaintext: true}, p, "http://127.0.0.1:8080/v1", ""},
		{"key required", ProviderConfig{}, p, "", "acme backend: APIKey is required"},
		{"key optional", ProviderConfig{}, Provider{ID: "open", DefaultHost: "h.test", DefaultPathPrefix: "/v1"}, "https://h.test/v1", ""},
		{"host with a path", ProviderConfig{APIKey: key, Host: "h.test/x"}, p, "", "acme backend"},
	} {
		up, err := tc.cfg.NewUpstream(tc.p, newT)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if up.BaseURL() != tc.wantURL {
			t.Errorf("%s: base URL %q, want %q", tc.name, up.BaseURL(), tc.wantURL)
		}
		if up.cfg.MaxRequestBytes != DefaultMaxRequestBytes || up.cfg.MaxResponseBytes != DefaultMaxResponseBytes {
			t.Errorf("%s: limits %d/%d, want the defaults", tc.name, up.cfg.MaxRequestBytes, up.cfg.MaxResponseBytes)
		}
	}
}
