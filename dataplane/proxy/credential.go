package proxy

import (
	"log/slog"
	"net/http"
	"strings"
)

// Credential puts an upstream credential (e.g. from a mounted Secret) on every request,
// replacing what the client sent in that header. The value is read per request, so a rotated
// Secret applies at once; when it cannot be read the request fails with 503 and a log line
// naming the source, never the value.
type Credential struct {
	// Header is where the credential goes (default Authorization).
	Header string
	// Prefix goes before the value (default "Bearer " for Authorization when the value has no
	// scheme of its own).
	Prefix string
	// Value returns the credential; its errors must not contain it.
	Value func() (string, error)
}

// Wrap returns next with the credential applied.
func (c Credential) Wrap(next http.Handler, log *slog.Logger) http.Handler {
	header := c.Header
	if header == "" {
		header = "Authorization"
	}
	header = http.CanonicalHeaderKey(header)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := c.Value()
		if err != nil {
			log.LogAttrs(r.Context(), slog.LevelError, "backend credential unavailable", slog.String("error", err.Error()))
			WriteError(w, http.StatusServiceUnavailable, "backend credential unavailable: "+err.Error())
			return
		}
		prefix := c.Prefix
		if prefix == "" && header == "Authorization" && !strings.Contains(v, " ") {
			prefix = "Bearer "
		}
		r.Header[header] = []string{prefix + v}
		next.ServeHTTP(w, r)
	})
}
