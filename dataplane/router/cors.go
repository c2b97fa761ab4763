package router

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/infergw/gwctl/pkg/gateway"
)

// cors is a compiled CORS filter.
type cors struct {
	c                                *gateway.CORS
	anyOrigin                        bool
	methods, headers, expose, maxAge string
	anyMethod, anyHeader             bool
}

func newCORS(c *gateway.CORS) *cors {
	x := &cors{c: c, maxAge: strconv.FormatInt(c.MaxAge, 10)}
	for _, o := range c.AllowOrigins {
		if o == "*" {
			x.anyOrigin = true
		}
	}
	for _, m := range c.AllowMethods {
		x.anyMethod = x.anyMethod || m == "*"
	}
	for _, h := range c.AllowHeaders {
		x.anyHeader = x.anyHeader || h == "*"
	}
	x.methods = strings.Join(c.AllowMethods, ", ")
	x.headers = strings.Join(c.AllowHeaders, ", ")
	x.expose = strings.Join(c.ExposeHeaders, ", ")
	return x
}

// allowed reports whether origin (scheme://host[:port]) is allowed.
func (x *cors) allowed(origin string) bool {
	if x.anyOrigin {
		return true
	}
	origin = strings.ToLower(origin)
	for _, o := range x.c.AllowOrigins {
		if o == origin {
			return true
		}
		// https://*.example.com: same scheme, host under the suffix (a port must match too).
		if i := strings.Index(o, "://*."); i >= 0 && strings.HasPrefix(origin, o[:i+3]) {
			suffix := o[i+4:]
			host := origin[i+3:]
			if len(host) > len(suffix) && strings.HasSuffix(host, suffix) {
				return true
			}
		}
	}
	return false
}

// allowOrigin is the Access-Control-Allow-Origin value: "*" only without credentials.
func (x *cors) allowOrigin(origin string) string {
	if x.anyOrigin && !x.c.AllowCredentials {
		return "*"
	}
	return origin
}

// preflight answers an OPTIONS preflight itself; the backend never sees it.
func (x *cors) preflight(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if x.allowed(origin) {
		h.Set("Access-Control-Allow-Origin", x.allowOrigin(origin))
		if x.c.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		methods, headers := x.methods, x.headers
		// With credentials "*" is literal to browsers: echo what was asked instead.
		if x.anyMethod && x.c.AllowCredentials {
			methods = r.Header.Get("Access-Control-Request-Method")
		}
		if x.anyHeader && x.c.AllowCredentials {
			headers = r.Header.Get("Access-Control-Request-Headers")
		}
		if methods != "" {
			h.Set("Access-Control-Allow-Methods", methods)
		}
		if headers != "" {
			h.Set("Access-Control-Allow-Headers", headers)
		}
		if x.expose != "" {
			// Browsers read it from the actual response; the Gateway API's CORS filter (and its
			// conformance tests) set it on the preflight too.
			h.Set("Access-Control-Expose-Headers", x.expose)
		}
		h.Set("Access-Control-Max-Age", x.maxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}

// response returns the header modifier for an actual cross-origin request, nil when the
// origin is not allowed.
func (x *cors) response(origin string) *gateway.HeaderModifier {
	if !x.allowed(origin) {
		return &gateway.HeaderModifier{Add: []gateway.Header{{Name: "Vary", Value: "Origin"}}}
	}
	m := &gateway.HeaderModifier{Set: []gateway.Header{{Name: "Access-Control-Allow-Origin", Value: x.allowOrigin(origin)}},
		Add: []gateway.Header{{Name: "Vary", Value: "Origin"}}}
	if x.c.AllowCredentials {
		m.Set = append(m.Set, gateway.Header{Name: "Access-Control-Allow-Credentials", Value: "true"})
	}
	if x.expose != "" {
		m.Set = append(m.Set, gateway.Header{Name: "Access-Control-Expose-Headers", Value: x.expose})
	}
	return m
}
