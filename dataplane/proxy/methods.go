package proxy

import "net/http"

// refusedMethods are methods no route serves: CONNECT asks for a tunnel (the gateway is not a
// forward proxy) and TRACE reflects the request, headers and credentials included, back to
// whoever can read the response (cross-site tracing).
var refusedMethods = [...]string{http.MethodConnect, http.MethodTrace}

// MethodRefused reports whether the gateway refuses method on every route.
func MethodRefused(method string) bool {
	for _, m := range refusedMethods {
		if method == m {
			return true
		}
	}
	return false
}

// allowedMethods is the Allow header of a 405: the methods a route can be written for.
const allowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

// WriteMethodRefused answers a refused method with 405 and an Allow header.
func WriteMethodRefused(w http.ResponseWriter, method string) {
	w.Header().Set("Allow", allowedMethods)
	WriteError(w, http.StatusMethodNotAllowed, "method "+method+" is not allowed: the gateway serves routes, it does not tunnel (CONNECT) or reflect requests (TRACE)")
}
