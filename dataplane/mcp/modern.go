package mcp

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
)

// serveModern serves a 2026-07-28 client: no session; the Mcp-Method and Mcp-Name headers must agree
// with the body before anything is routed or authorized on them.
func (h *Handler) serveModern(x *exchange) {
	m := x.m
	if m.kind() != kindResponse {
		hm := x.r.Header.Get("Mcp-Method")
		if hm == "" && m.kind() == kindRequest {
			h.headerMismatch(x, "missing required Mcp-Method header")
			return
		}
		if hm != "" && hm != m.Method {
			h.headerMismatch(x, fmt.Sprintf("Mcp-Method header %q does not match body method %q", hm, m.Method))
			return
		}
		if field := nameField(m.Method); field != "" {
			inBody := paramString(m.Params, field)
			raw := x.r.Header.Get("Mcp-Name")
			inHeader, ok := decodeHeaderValue(raw)
			switch {
			case raw == "":
				h.headerMismatch(x, fmt.Sprintf("missing required Mcp-Name header for %s", m.Method))
				return
			case !ok || (inHeader != inBody && raw != inBody):
				h.headerMismatch(x, fmt.Sprintf("Mcp-Name header does not match body %s", field))
				return
			}
		}
	}
	switch m.kind() {
	case kindRequest:
		switch m.Method {
		case "server/discover":
			x.discover()
		case "initialize":
			h.headerMismatch(x, "initialize is not part of protocol version "+x.modern)
		default:
			x.dispatch()
		}
	case kindNotification:
		x.notify()
	case kindResponse:
		x.w.WriteHeader(http.StatusAccepted)
	}
}

func nameField(method string) string {
	switch method {
	case "tools/call", "prompts/get":
		return "name"
	case "resources/read":
		return "uri"
	}
	return ""
}

func (h *Handler) headerMismatch(x *exchange, why string) {
	x.status = statusInvalid
	x.span.SetAttributes(attrErrCode.Int(codeHeaderMismatch))
	writeRPCError(x.w, http.StatusBadRequest, x.m.ID, &rpcError{Code: codeHeaderMismatch, Message: "Header mismatch: " + why})
}

// discover answers server/discover: a single target's answer as is, or the targets' answers merged
// (versions all of them support, union of capabilities, the gateway's serverInfo, not cacheable).
// A target that does not speak 2026-07-28 fails it, and the client falls back to initialize.
func (x *exchange) discover() {
	ups := x.targets()
	if !x.h.multi {
		x.forward(ups[0], x.newCall(ups[0], x.m.ID, x.m.Method, "", x.body))
		return
	}
	type answer struct {
		res map[string]json.RawMessage
		err error
	}
	answers := make([]answer, len(ups))
	fctx, cancel := x.fanoutContext()
	defer cancel()
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Go(func() {
			m, _, err := u.roundTrip(fctx, x.newCall(u, x.m.ID, x.m.Method, "", x.body))
			if err == nil && m.Error != nil {
				err = m.Error
			}
			if err == nil {
				err = json.Unmarshal(m.Result, &answers[i].res)
			}
			answers[i].err = err
		})
	}
	wg.Wait()
	var versions []string
	caps := map[string]map[string]any{}
	n := 0
	for i, a := range answers {
		if a.err != nil {
			if x.h.cfg.FailureMode == FailClosed {
				if re, ok := a.err.(*rpcError); ok {
					x.fail(statusError, &rpcError{Code: re.Code, Message: fmt.Sprintf("MCP target %q: %s", ups[i].Name, re.Message), Data: re.Data})
					return
				}
				x.unavailable(ups[i], a.err)
				return
			}
			continue
		}
		var vs []string
		_ = json.Unmarshal(a.res["supportedVersions"], &vs)
		if n == 0 {
			versions = vs
		} else {
			versions = slices.DeleteFunc(versions, func(v string) bool { return !slices.Contains(vs, v) })
		}
		var c map[string]map[string]any
		_ = json.Unmarshal(a.res["capabilities"], &c)
		for k, v := range c {
			if caps[k] == nil {
				caps[k] = map[string]any{}
			}
			maps.Copy(caps[k], v)
		}
		n++
	}
	if n == 0 {
		x.fail(statusUnavailable, &rpcError{Code: codeUpstreamUnavailable, Message: "No MCP target answered server/discover"})
		return
	}
	if len(versions) == 0 {
		x.fail(statusError, &rpcError{Code: codeUnsupportedVersion, Message: "Unsupported protocol version: the MCP targets share no version",
			Data: mustJSON(map[string]any{"supported": []string{}, "requested": x.modern})})
		return
	}
	x.result(map[string]any{
		"resultType":        "complete",
		"supportedVersions": versions,
		"capabilities":      caps,
		"ttlMs":             0,
		"_meta": map[string]any{
			"io.modelcontextprotocol/serverInfo": map[string]any{"name": x.h.cfg.ServerName, "version": "1.0.0"},
		},
	})
}
