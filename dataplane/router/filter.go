package router

import (
	"bufio"
	"net"
	"net/http"
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
			port = ":" + itoa(int(rd.Port))
		}
	case rd.Scheme == "" && rd.Hostname == "":
		if _, p, err := net.SplitHostPort(r.Host); err == nil {
			port = ":" + p
		}
	}
	path := rewritePath(rd.Path, prefix, r.URL.Path)
	loc := scheme + "://" + host + port + path
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(rd.StatusCode)
}

// rewritePath applies a path modifier; prefix is the PathPrefix the request matched.
func rewritePath(m *gateway.PathModifier, prefix, path string) string {
	switch {
	case m == nil:
		return path
	case m.Full != nil:
		return *m.Full
	case m.Prefix != nil:
		rest := strings.TrimPrefix(path, strings.TrimSuffix(prefix, "/"))
		repl := strings.TrimSuffix(*m.Prefix, "/")
		out := repl + rest
		if out == "" || out[0] != '/' {
			out = "/" + strings.TrimPrefix(out, "/")
		}
		return out
	}
	return path
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
