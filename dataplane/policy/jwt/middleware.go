package jwt

import (
	"encoding/json"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/telemetry"
)

// Failure describes a rejected request for an ErrorWriter.
type Failure struct {
	// Status is 401, or 403 from Forbid.
	Status int
	// Code is "missing_token", "invalid_token", "insufficient_scope" or "forbidden".
	Code string
	// Message is safe to show the client: it never holds the token.
	Message string
}

// ErrorWriter writes the body of a rejection in the client's API shape. Status and
// WWW-Authenticate have been set on w's header; the writer must call WriteHeader(f.Status).
type ErrorWriter func(w http.ResponseWriter, r *http.Request, f Failure)

// Middleware authenticates each request before next: it serves the protected-resource metadata
// on MCP routes, reads the token from the configured location, rejects per the mode, removes the
// credential (unless Passthrough) and puts verified claims in the context (see ClaimsFrom).
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.MCP != nil {
			if doc, resource, ok := wellKnown(r.URL.Path); ok {
				// Public, so answered here and never passed on: a backend must not serve
				// anything else on a path that skipped authentication.
				a.serveWellKnown(w, r, doc, resource)
				return
			}
		}
		raw, found := a.extract(r)
		if !found {
			if a.cfg.Mode == ModeStrict {
				a.metrics.result("missing")
				a.reject(w, r, Failure{Status: http.StatusUnauthorized, Code: "missing_token", Message: "JWT token required"})
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		ctx, span := telemetry.StartChild(r.Context(), a.tracer, telemetry.SpanJWT)
		claims, err := a.Authenticate(ctx, raw)
		if err != nil {
			span.SetStatus(codes.Error, "invalid token")
			span.End()
			a.metrics.result("invalid")
			a.log.Debug("jwt rejected", "reason", err.Error(), "path", r.URL.Path)
			if a.cfg.Mode == ModePermissive {
				a.strip(r)
				next.ServeHTTP(w, r)
				return
			}
			a.reject(w, r, Failure{Status: http.StatusUnauthorized, Code: "invalid_token", Message: "invalid JWT token"})
			return
		}
		if span.IsRecording() {
			span.SetAttributes(attribute.String("enduser.id", claims.Subject()))
		}
		span.End()
		a.strip(r)
		next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), claims)))
	})
}

// extract reads the token from the configured location.
func (a *Authenticator) extract(r *http.Request) (string, bool) {
	l := a.cfg.Location
	switch {
	case l == nil:
		return bearer(r.Header.Get("Authorization"), "Bearer ")
	case l.Header != nil:
		v := r.Header.Get(l.Header.Name)
		if l.Header.Prefix == "" {
			v = strings.TrimSpace(v)
			return v, v != ""
		}
		return bearer(v, l.Header.Prefix)
	case l.QueryParameter != "":
		v := r.URL.Query().Get(l.QueryParameter)
		return v, v != ""
	case l.Cookie != "":
		c, err := r.Cookie(l.Cookie)
		if err != nil || c.Value == "" {
			return "", false
		}
		return c.Value, true
	}
	return "", false
}

func bearer(v, prefix string) (string, bool) {
	if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimSpace(v[len(prefix):])
	return tok, tok != ""
}

// strip removes the credential so that it never reaches the upstream.
func (a *Authenticator) strip(r *http.Request) {
	if a.cfg.Passthrough {
		return
	}
	l := a.cfg.Location
	switch {
	case l == nil:
		r.Header.Del("Authorization")
	case l.Header != nil:
		r.Header.Del(l.Header.Name)
	case l.QueryParameter != "":
		q := r.URL.Query()
		q.Del(l.QueryParameter)
		r.URL.RawQuery = q.Encode()
		r.RequestURI = ""
	case l.Cookie != "":
		cookies := r.Cookies()
		r.Header.Del("Cookie")
		for _, c := range cookies {
			if c.Name != l.Cookie {
				r.AddCookie(c)
			}
		}
	}
}

// reject answers 401 with an RFC 6750 challenge: no error attribute when the token is missing,
// error="invalid_token" otherwise, and resource_metadata instead of realm on MCP routes. URLs
// are left out when the request's origin cannot be vouched for (see originFor).
func (a *Authenticator) reject(w http.ResponseWriter, r *http.Request, f Failure) {
	var params []string
	origin, known := a.originFor(r)
	switch {
	case a.cfg.MCP != nil && known:
		params = append(params, `resource_metadata="`+quote(origin+wellKnownResource+escapePath(r.URL.Path))+`"`)
	case a.cfg.MCP == nil:
		realm := escapePath(r.URL.Path)
		if known {
			realm = origin + realm
		}
		if len(realm) > 256 {
			realm = realm[:256]
		}
		params = append(params, `realm="`+quote(realm)+`"`)
	}
	if f.Code == "invalid_token" {
		params = append(params, `error="invalid_token"`)
	}
	challenge := "Bearer"
	if len(params) > 0 {
		challenge += " " + strings.Join(params, ", ")
	}
	h := w.Header()
	h.Set("WWW-Authenticate", challenge)
	h.Set("Cache-Control", "no-store")
	switch {
	case a.cfg.WriteError != nil:
		a.cfg.WriteError(w, r, f)
	case a.cfg.MCP != nil:
		writeJSON(w, f.Status, map[string]string{"error": "unauthorized", "error_description": f.Message})
	default:
		WriteOpenAIError(w, r, f)
	}
}

// WriteOpenAIError writes f as an OpenAI API error object (type authentication_error, or
// permission_error for 403).
func WriteOpenAIError(w http.ResponseWriter, _ *http.Request, f Failure) {
	typ := apierror.ErrAuthentication
	if f.Status == http.StatusForbidden {
		typ = apierror.ErrPermission
	}
	apierror.Write(w, &apierror.Error{Status: f.Status, Type: typ, Code: f.Code, Message: f.Message})
}

// Forbid answers 403 for an authorization denial of an authenticated request (never for a bad
// token, which is 401). With scope set on an MCP route it carries the RFC 6750 §3.1 challenge
// Bearer error="insufficient_scope", scope="…", resource_metadata="…" the MCP spec asks for.
func (a *Authenticator) Forbid(w http.ResponseWriter, r *http.Request, scope string) {
	f := Failure{Status: http.StatusForbidden, Code: "forbidden", Message: "access denied"}
	if scope != "" {
		f.Code, f.Message = "insufficient_scope", "insufficient scope"
		c := `Bearer error="insufficient_scope", scope="` + quote(scope) + `"`
		if origin, ok := a.originFor(r); a.cfg.MCP != nil && ok {
			c += `, resource_metadata="` + quote(origin+wellKnownResource+escapePath(r.URL.Path)) + `"`
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	switch {
	case a.cfg.WriteError != nil:
		a.cfg.WriteError(w, r, f)
	case a.cfg.MCP != nil:
		writeJSON(w, f.Status, map[string]string{"error": f.Code, "error_description": f.Message})
	default:
		WriteOpenAIError(w, r, f)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func quote(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
