package jwt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	// asMetadataTTL is how long a fetched authorization-server document is served before it is
	// fetched again.
	asMetadataTTL = 5 * time.Minute
	// asMetadataRetry is the wait after a failed fetch: unauthenticated requests for the document
	// never reach the issuer more often than this.
	asMetadataRetry = 30 * time.Second
	// asMetadataMaxBytes bounds the issuer's document.
	asMetadataMaxBytes = 256 << 10
	// asMetadataTimeout bounds one fetch (all discovery URLs).
	asMetadataTimeout = 5 * time.Second
)

// authServer fetches the issuer's authorization-server metadata from the discovery URLs the MCP
// authorization specification has clients try, keeps the last good document, and coalesces
// concurrent fetches into one.
type authServer struct {
	issuer string
	urls   []string
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	doc     []byte
	until   time.Time
	pending chan struct{} // closed when the fetch in progress ends
}

// newAuthServer returns nil when the issuer is not an http(s) URL (nothing to fetch).
func newAuthServer(issuer string, client *http.Client, log *slog.Logger, now func() time.Time) *authServer {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	origin := u.Scheme + "://" + u.Host
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	urls := []string{origin + wellKnownAuthServer + p, origin + "/.well-known/openid-configuration" + p}
	if p != "" {
		urls = append(urls, origin+p+"/.well-known/openid-configuration")
	}
	return &authServer{issuer: issuer, urls: urls, client: &c, log: log, now: now}
}

// get returns the document, or nil when none could be fetched.
func (s *authServer) get(ctx context.Context) []byte {
	for {
		s.mu.Lock()
		if s.now().Before(s.until) {
			doc := s.doc
			s.mu.Unlock()
			return doc
		}
		if p := s.pending; p != nil {
			s.mu.Unlock()
			select {
			case <-p:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		p := make(chan struct{})
		s.pending = p
		s.mu.Unlock()

		// The fetch outlives a client that goes away: the next request would start it again.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), asMetadataTimeout)
		doc, err := s.fetch(fctx)
		cancel()
		s.mu.Lock()
		if err == nil {
			s.doc, s.until = doc, s.now().Add(asMetadataTTL)
		} else {
			// Keep serving the last good document, if any, and try again later.
			s.until = s.now().Add(asMetadataRetry)
			s.log.Warn("authorization server metadata not fetched", "issuer", s.issuer, "error", err.Error())
		}
		doc = s.doc
		s.pending = nil
		s.mu.Unlock()
		close(p)
		return doc
	}
}

func (s *authServer) fetch(ctx context.Context) ([]byte, error) {
	var errs []string
	for _, u := range s.urls {
		doc, err := s.fetchOne(ctx, u)
		if err == nil {
			return doc, nil
		}
		errs = append(errs, err.Error())
	}
	return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
}

// fetchOne accepts a 200 JSON object of at most asMetadataMaxBytes whose issuer is the
// configured one (RFC 8414 §3.3): a document naming another issuer is not this provider's.
func (s *authServer) fetchOne(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, asMetadataMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	if len(body) > asMetadataMaxBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", u, asMetadataMaxBytes)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object", u)
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Issuer != s.issuer {
		return nil, fmt.Errorf("%s: issuer %q is not %q", u, doc.Issuer, s.issuer)
	}
	return body, nil
}
