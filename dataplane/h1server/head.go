package h1server

import (
	"bytes"
	"strings"
)

// Why a head goes to net/http rather than the fast loop.
const (
	headFast       = iota
	headIncomplete // not all in the buffer yet
	headHandOff
)

// scanHead looks at the buffered bytes b for one request head and says whether the fast loop
// serves it: an HTTP/1.1 request in origin form with one Host header and no field that asks
// for something it leaves to net/http (upgrades, Expect, h2c, transfer codings other than
// chunked, Connection options other than keep-alive and close, obsolete line folding). It only
// chooses who parses; http.ReadRequest and the checks after it still refuse what net/http
// refuses. Lines end as bufio.Reader.ReadLine ends them (LF, with a CR before it dropped).
func scanHead(b []byte) int {
	if len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		return headHandOff // leading empty lines: net/http's tolerance after a POST
	}
	hosts, codings := 0, 0
	first := true
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return headIncomplete
		}
		line := b[:i]
		b = b[i+1:]
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if first {
			first = false
			if !requestLineFast(line) {
				return headHandOff
			}
			continue
		}
		if len(line) == 0 {
			if hosts != 1 {
				return headHandOff
			}
			return headFast
		}
		if line[0] == ' ' || line[0] == '\t' {
			return headHandOff // obs-fold
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return headHandOff
		}
		name, value := line[:colon], strings.Trim(string(line[colon+1:]), " \t")
		switch {
		case eqFold(name, "host"):
			hosts++
		case eqFold(name, "upgrade"), eqFold(name, "expect"), eqFold(name, "http2-settings"):
			return headHandOff
		case eqFold(name, "connection"):
			if !strings.EqualFold(value, "keep-alive") && !strings.EqualFold(value, "close") {
				return headHandOff
			}
		case eqFold(name, "transfer-encoding"):
			if codings++; codings > 1 || !strings.EqualFold(value, "chunked") {
				return headHandOff
			}
		}
	}
}

// requestLineFast reports whether line is "METHOD /target HTTP/1.1", split as net/http's
// parseRequestLine splits it.
func requestLineFast(line []byte) bool {
	method, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(method) == 0 {
		return false
	}
	target, proto, ok := bytes.Cut(rest, []byte{' '})
	return ok && len(target) > 0 && target[0] == '/' && string(proto) == "HTTP/1.1" &&
		string(method) != "PRI" && string(method) != "CONNECT"
}

func eqFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}
