package router

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/infergw/gwctl/pkg/gateway"
)

// applyHeaders modifies h in place: set, then add, then remove.
func applyHeaders(m *gateway.HeaderModifier, h http.Header) {
	for _, s := range m.Set {
		h[s.Name] = []string{s.Value}
	}
	for _, a := range m.Add {
		h[a.Name] = append(h[a.Name], a.Value)
	}
	for _, n := range m.Remove {
		delete(h, n)
	}
}

// responseHeaders applies a ResponseHeaderModifier when the backend writes its header; it keeps
// streaming working (Flush, Unwrap for http.ResponseController).
type responseHeaders struct {
	http.ResponseWriter
	mods  []*gateway.HeaderModifier
	wrote bool
}

func (w *responseHeaders) apply() {
	if !w.wrote {
		w.wrote = true
		for _, m := range w.mods {
			applyHeaders(m, w.ResponseWriter.Header())
		}
	}
}

func (w *responseHeaders) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.apply()
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseHeaders) Write(b []byte) (int, error) {
	w.apply()
	return w.ResponseWriter.Write(b)
}

func (w *responseHeaders) Flush() {
	w.apply()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *responseHeaders) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *responseHeaders) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// redirect answers with a RequestRedirect filter's Location.
func redirect(rd *gateway.Redirect, prefix string, w http.ResponseWriter, r *http.Request) {
	scheme := rd.Scheme
	if scheme == "" {
		scheme = "http"
		if r.TLS != nil {
			scheme = "https"
		}
	}
	host := rd.Hostname
	if host == "" {
		host = requestHost(r.Host)
	}
	port := ""
	switch {
	case rd.Port != 0:
		if !(scheme == "http" && rd.Port == 80) && !(scheme == "https" && rd.Port == 443) {
			port = ":" + strconv.Itoa(int(rd.Port))
		}
	case rd.Scheme == "":
		// Neither scheme nor port set: the listener's port (the Gateway API's rule), as the
		// client named it in Host, also when the redirect names another host.
		if _, p, err := net.SplitHostPort(r.Host); err == nil {
			port = ":" + p
		}
	}
	path := rewriteEscaped(rd.Path, prefix, r.URL.Path, r.URL.EscapedPath())
	loc := scheme + "://" + host + port + path
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(rd.StatusCode)
}

// rewriteURLPath applies a path modifier to u. The part of the path it keeps keeps its escapes
// (the client's %3B stays %3B rather than becoming a ';'), so the upstream receives the
// normalised path the route matched, rewritten.
func rewriteURLPath(m *gateway.PathModifier, prefix string, u *url.URL) {
	esc := rewriteEscaped(m, prefix, u.Path, u.EscapedPath())
	p, err := url.PathUnescape(esc)
	if err != nil {
		return // not reached: esc is made of well-formed escapes
	}
	u.Path, u.RawPath = p, ""
	if u.EscapedPath() != esc {
		u.RawPath = esc
	}
}

// rewriteEscaped applies a path modifier to the escaped path esc, whose decoded form is path;
// prefix is the PathPrefix the request matched.
func rewriteEscaped(m *gateway.PathModifier, prefix, path, esc string) string {
	switch {
	case m == nil:
		return esc
	case m.Full != nil:
		return escapePath(*m.Full)
	case m.Prefix != nil:
		cut := strings.TrimSuffix(prefix, "/")
		rest := esc
		if strings.HasPrefix(path, cut) {
			rest = esc[escapedOffset(esc, len(cut)):]
		}
		out := escapePath(strings.TrimSuffix(*m.Prefix, "/")) + rest
		if out == "" || out[0] != '/' {
			out = "/" + strings.TrimPrefix(out, "/")
		}
		return out
	}
	return esc
}

// escapedOffset returns the index in esc after its first n decoded bytes.
func escapedOffset(esc string, n int) int {
	i := 0
	for ; i < len(esc) && n > 0; n-- {
		if esc[i] == '%' && i+2 < len(esc) {
			i += 3
		} else {
			i++
		}
	}
	return i
}

func escapePath(p string) string { return (&url.URL{Path: p}).EscapedPath() }
