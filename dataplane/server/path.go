package server

import (
	"bytes"
	"net/http"
	"net/url"
)

// The request path is normalised once, before routing, and the normalised path is what every
// later stage (route match, JWT, rate limit, rewrite, access log) sees and what the upstream
// receives: a path that matched "/" cannot reach an upstream that resolves it to "/auth".
//
// Rules, applied to the escaped path (URL.EscapedPath):
//   - %XX of an unreserved character (ALPHA DIGIT - . _ ~) is decoded; every other escape is
//     kept with upper-case hex; a raw byte outside RFC 3986 pchar is percent-encoded.
//   - empty segments are merged (//a → /a), then "." and ".." segments are removed as RFC 3986
//     §5.2.4 does (".." above the root stays at the root); a trailing slash is kept.
//   - ";" is segment data, as in Envoy: /a;x/b is forwarded as /a;x/b, and the router counts
//     ";x" as part of the element "a" (a PathPrefix /a covers it). A segment that is empty,
//     "." or ".." before its ";params" (/;x/, /..;/, /.;x/) is refused, since servers that
//     strip path parameters (Tomcat, Jetty, Spring) resolve it as a dot segment.
//   - refused with 400: an encoded "/" (%2F), "\" raw or encoded (%5C), NUL and other control
//     characters raw or encoded, a malformed escape, a path not starting with "/".

// pathError is a refused request path. Its message names the rule, never the path.
type pathError string

func (e pathError) Error() string { return "request path refused: " + string(e) }

const (
	errNotAbsolute  pathError = "it does not start with /"
	errBadEscape    pathError = "malformed percent-escape"
	errEncodedSlash pathError = "encoded slash (%2F)"
	errBackslash    pathError = "backslash (raw or %5C)"
	errControl      pathError = "control character (raw or encoded)"
	errDotParams    pathError = "empty or dot segment with ;parameters"
)

// normalizeRequest normalises r's path in place (URL.Path, URL.RawPath and RequestURI agree
// with each other afterwards); the query is untouched. An already normal path costs one scan
// and no allocation.
func normalizeRequest(r *http.Request) error {
	u := r.URL
	if u.Opaque != "" {
		return errNotAbsolute
	}
	if u.RawPath == "" && len(u.Path) > 0 && u.Path[0] == '/' && plainNormal(u.Path) {
		return nil // the wire form is Path (or Path with !'()* escaped): already normal
	}
	esc := u.EscapedPath()
	n, err := normalizePath(esc)
	if err != nil || n == esc {
		return err
	}
	p, err := url.PathUnescape(n)
	if err != nil {
		return errBadEscape // not reached: n holds only well-formed escapes
	}
	u.Path, u.RawPath = p, ""
	if u.EscapedPath() != n {
		u.RawPath = n // the client's choice where Go's differs (%3B, a raw !)
	}
	r.RequestURI = n
	if u.ForceQuery || u.RawQuery != "" {
		r.RequestURI += "?" + u.RawQuery
	}
	return nil
}

// normalizePath returns the normal form of an escaped path, or why it is refused.
func normalizePath(p string) (string, error) {
	if p == "" {
		return "/", nil // absolute-form "http://host" and CONNECT: RFC 3986 makes it "/"
	}
	if p[0] != '/' {
		return "", errNotAbsolute
	}
	if plainNormal(p) {
		return p, nil
	}
	clean := true
	for i := 0; i < len(p); {
		j := nextSlash(p, i+1)
		kind, canon, err := inspect(p[i+1 : j])
		if err != nil {
			return "", err
		}
		if !canon || kind == segDot || kind == segDotDot || (kind == segEmpty && j < len(p)) {
			clean = false
		}
		i = j
	}
	if clean {
		return p, nil
	}
	out := make([]byte, 0, len(p)+8)
	for i := 0; i < len(p); {
		j := nextSlash(p, i+1)
		seg, last := p[i+1:j], j == len(p)
		kind, _, _ := inspect(seg)
		switch kind {
		case segDotDot:
			if k := bytes.LastIndexByte(out, '/'); k >= 0 {
				out = out[:k]
			}
			fallthrough
		case segEmpty, segDot:
			if last {
				out = append(out, '/')
			}
		default:
			out = append(out, '/')
			out = appendCanonical(out, seg)
		}
		i = j
	}
	if len(out) == 0 {
		out = append(out, '/')
	}
	return string(out), nil
}

// plainBytes are the bytes of a path needing no closer look: pchar without '%' and ';'.
var plainBytes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c != ';' && pchar(byte(c))
	}
	return t
}()

// plainNormal reports, in one pass, whether p (starting with '/') is made of plain bytes and
// has no empty, "." or ".." segment but a trailing slash: the common case, already normal.
func plainNormal(p string) bool {
	start := 1 // of the current segment
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			if !plainBytes[p[i]] {
				return false
			}
			continue
		}
		switch p[start:i] {
		case "":
			if i < len(p) {
				return false
			}
		case ".", "..":
			return false
		}
		start = i + 1
	}
	return true
}

func nextSlash(p string, i int) int {
	for i < len(p) && p[i] != '/' {
		i++
	}
	return i
}

const (
	segName = iota
	segEmpty
	segDot
	segDotDot
)

// inspect classifies one escaped segment (by its decoded text) and reports whether its bytes
// are already canonical.
func inspect(seg string) (kind int, canon bool, err error) {
	canon = true
	dots, other, params := 0, false, false // of the decoded text before the first ';'
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' {
			if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
				return 0, false, errBadEscape
			}
			c = unhex(seg[i+1])<<4 | unhex(seg[i+2])
			if isLowerHex(seg[i+1]) || isLowerHex(seg[i+2]) || unreserved(c) {
				canon = false
			}
			i += 2
			switch c {
			case '/':
				return 0, false, errEncodedSlash
			case '\\':
				return 0, false, errBackslash
			}
		} else if c == '\\' {
			return 0, false, errBackslash
		} else if !pchar(c) {
			canon = false
		}
		if c < 0x20 || c == 0x7f {
			return 0, false, errControl
		}
		if !params {
			switch c {
			case '.':
				dots++
			case ';':
				params = true
			default:
				other = true
			}
		}
	}
	switch {
	case params && !other && dots <= 2:
		return 0, false, errDotParams
	case other || params || dots > 2:
		return segName, canon, nil
	case dots == 0:
		return segEmpty, canon, nil
	case dots == 1:
		return segDot, canon, nil
	}
	return segDotDot, canon, nil
}

// appendCanonical appends a segment that inspect accepted, in canonical bytes.
func appendCanonical(out []byte, seg string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '%':
			b := unhex(seg[i+1])<<4 | unhex(seg[i+2])
			i += 2
			if unreserved(b) {
				out = append(out, b)
			} else {
				out = append(out, '%', hex[b>>4], hex[b&0xf])
			}
		case pchar(c):
			out = append(out, c)
		default:
			out = append(out, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return out
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// pchar reports whether RFC 3986 allows c unescaped in a path segment (besides %XX).
func pchar(c byte) bool {
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return unreserved(c)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isLowerHex(c byte) bool { return 'a' <= c && c <= 'f' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
