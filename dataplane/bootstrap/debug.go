package bootstrap

import (
	"net/http"
	"net/http/pprof"
)

// debugHandlers are the debug listener's endpoints: /configz and Go's profiler, so the
// running binary can be profiled under load (go tool pprof http://127.0.0.1:15000/debug/pprof/profile).
// net/http/pprof also registers on http.DefaultServeMux, which nothing here serves.
func debugHandlers(configz http.Handler) map[string]http.Handler {
	return map[string]http.Handler{
		"/configz":             configz,
		"/debug/pprof/":        http.HandlerFunc(pprof.Index),
		"/debug/pprof/cmdline": http.HandlerFunc(pprof.Cmdline),
		"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
		"/debug/pprof/symbol":  http.HandlerFunc(pprof.Symbol),
		"/debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
	}
}
