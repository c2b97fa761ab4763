package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/dataplane/sse"
)

// dispatch routes a client request by its method.
func (x *exchange) dispatch() {
	switch x.m.Method {
	case "ping":
		x.result(map[string]any{})
	case "tools/list", "prompts/list", "resources/list", "resources/templates/list":
		x.list()
	case "tools/call":
		x.routeByName("name", true)
	case "prompts/get":
		x.routeByName("name", false)
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		x.routeByURI()
	case "completion/complete":
		x.complete()
	case "logging/setLevel":
		x.broadcastRequest()
	default:
		if x.h.multi {
			x.fail(statusInvalid, &rpcError{Code: codeMethodNotFound, Message: fmt.Sprintf("Method not found: %s is not supported with several MCP targets", x.m.Method)})
			return
		}
		ups := x.targets()
		if len(ups) == 0 {
			x.fail(statusUnavailable, &rpcError{Code: codeUpstreamUnavailable, Message: "No MCP target is available in this session"})
			return
		}
		x.forward(ups[0], x.newCall(ups[0], x.m.ID, x.m.Method, "", x.body))
	}
}

// result answers the request with a result of the gateway's own.
func (x *exchange) result(v any) {
	b, err := encodeResult(x.m.ID, v)
	if err != nil {
		x.fail(statusError, &rpcError{Code: codeInternalError, Message: err.Error()})
		return
	}
	writeJSON(x.w, http.StatusOK, b)
}

// exposedName is the client-facing name of a tool or prompt: prefixed with "<target>_" when the
// backend has several targets (agentgateway v1.2.1 behaviour), as is otherwise.
func (h *Handler) exposedName(target, name string) string {
	if !h.multi {
		return name
	}
	return target + "_" + name
}

// exposedURI is the client-facing URI of a resource: "<target>+<uri>" with several targets.
func (h *Handler) exposedURI(target, uri string) string {
	if !h.multi {
		return uri
	}
	return target + "+" + uri
}

// route finds the session target of a client-facing name (sep "_") or URI (sep "+"). Target
// names are DNS labels, so they contain neither separator and the first one splits unambiguously.
func (x *exchange) route(exposed, sep string) (*upstream, string, bool) {
	ups := x.targets()
	if !x.h.multi {
		if len(ups) == 0 {
			return nil, "", false
		}
		return ups[0], exposed, true
	}
	t, rest, ok := strings.Cut(exposed, sep)
	if !ok || rest == "" {
		return nil, "", false
	}
	for _, u := range ups {
		if u.Name == t {
			return u, rest, true
		}
	}
	return nil, "", false
}

// routeByName serves tools/call and prompts/get: find the target, apply the tool rules, strip the prefix.
func (x *exchange) routeByName(field string, tool bool) {
	exposed := paramString(x.m.Params, field)
	if exposed == "" {
		x.fail(statusInvalid, &rpcError{Code: codeInvalidParams, Message: "Invalid params: " + field + " is required"})
		return
	}
	what := "prompt"
	if tool {
		what = "tool"
	}
	u, name, ok := x.route(exposed, "_")
	if !ok {
		x.fail(statusInvalid, &rpcError{Code: codeInvalidParams, Message: fmt.Sprintf("Unknown %s: %s", what, exposed)})
		return
	}
	if tool {
		x.tool = x.h.toolLabel(exposed)
		x.span.SetAttributes(attrToolName.String(exposed))
		if !x.h.cfg.Rules.permits(u.Name, name, exposed, x.claims) {
			// HTTP 400 as agentgateway answers, and the same words as for a tool that does not exist, so
			// the refusal does not reveal that the tool is there.
			x.h.log.LogAttrs(x.ctx, 0, "mcp tool refused by rules", strAttr("tool", exposed))
			x.status = statusDenied
			writeRPCError(x.w, http.StatusBadRequest, x.m.ID, &rpcError{Code: codeInvalidParams, Message: fmt.Sprintf("Unknown tool: %s", exposed)})
			return
		}
	}
	x.span.SetAttributes(attrTarget.String(u.Name))
	body := x.body
	if name != exposed {
		var p map[string]json.RawMessage
		_ = json.Unmarshal(x.m.Params, &p)
		p[field], _ = json.Marshal(name)
		body = x.reencode(p)
	}
	x.forward(u, x.newCall(u, x.m.ID, x.m.Method, name, body))
}

// paramString reads the string at path in params by exact keys. params passed the strict read of
// parseMessage (no duplicate or case-colliding keys), so this is the value the target reads.
func paramString(params json.RawMessage, path ...string) string {
	s, _ := jsonstrict.Value(params).Lookup(path...).Str()
	return s
}

func (x *exchange) routeByURI() {
	exposed := paramString(x.m.Params, "uri")
	if exposed == "" {
		x.fail(statusInvalid, &rpcError{Code: codeInvalidParams, Message: "Invalid params: uri is required"})
		return
	}
	u, uri, ok := x.route(exposed, "+")
	if !ok {
		x.fail(statusInvalid, &rpcError{Code: -32002, Message: "Resource not found", Data: mustJSON(map[string]string{"uri": exposed})})
		return
	}
	body := x.body
	if uri != exposed {
		var p map[string]json.RawMessage
		_ = json.Unmarshal(x.m.Params, &p)
		p["uri"], _ = json.Marshal(uri)
		body = x.reencode(p)
	}
	name := ""
	if x.m.Method == "resources/read" {
		name = uri
	}
	x.forward(u, x.newCall(u, x.m.ID, x.m.Method, name, body))
}

// complete routes completion/complete by its reference (a prompt name or a resource URI).
func (x *exchange) complete() {
	field, sep := "name", "_"
	if paramString(x.m.Params, "ref", "type") == "ref/resource" {
		field, sep = "uri", "+"
	}
	exposed := paramString(x.m.Params, "ref", field)
	u, inner, ok := x.route(exposed, sep)
	if !ok {
		x.fail(statusInvalid, &rpcError{Code: codeInvalidParams, Message: "Invalid params: unknown completion reference"})
		return
	}
	body := x.body
	if inner != exposed {
		var p, ref map[string]json.RawMessage
		_ = json.Unmarshal(x.m.Params, &p)
		_ = json.Unmarshal(p["ref"], &ref)
		ref[field], _ = json.Marshal(inner)
		p["ref"], _ = json.Marshal(ref)
		body = x.reencode(p)
	}
	x.forward(u, x.newCall(u, x.m.ID, x.m.Method, "", body))
}

// broadcastRequest sends a request whose result is empty (logging/setLevel) to every target.
func (x *exchange) broadcastRequest() {
	ups := x.targets()
	errs := make([]error, len(ups))
	fctx, cancel := x.fanoutContext()
	defer cancel()
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Go(func() {
			m, _, err := u.roundTrip(fctx, x.newCall(u, x.m.ID, x.m.Method, "", x.body))
			if err == nil && m.Error != nil {
				err = m.Error
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && x.h.cfg.FailureMode == FailClosed {
			x.unavailable(ups[i], err)
			return
		}
	}
	x.result(map[string]any{})
}

// fanoutContext bounds the calls the gateway makes to every target at once (initialize, lists,
// discover), so one target that accepts connections but never answers cannot stall them all.
func (x *exchange) fanoutContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(x.ctx, x.h.cfg.FanoutTimeout)
}

func (x *exchange) reencode(params map[string]json.RawMessage) []byte {
	m := *x.m
	m.Params, _ = json.Marshal(params)
	b, _ := json.Marshal(&m)
	return b
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// notify passes a client notification to every target of the session and answers 202.
func (x *exchange) notify() {
	if x.sess != nil && x.h.cfg.SessionRouting == Stateless {
		x.w.WriteHeader(http.StatusAccepted)
		return
	}
	var wg sync.WaitGroup
	for _, u := range x.targets() {
		if u.Protocol == SSE {
			continue
		}
		wg.Go(func() {
			r, err := u.send(x.ctx, x.newCall(u, nil, x.m.Method, "", x.body))
			r.close()
			if err != nil {
				x.h.metrics.targetFailures.WithLabelValues(u.Name).Inc()
			}
		})
	}
	wg.Wait()
	x.w.WriteHeader(http.StatusAccepted)
}

// respond passes the client's response to a server's request back to the target that asked.
func (x *exchange) respond() {
	ups := x.targets()
	if len(ups) == 0 {
		x.w.WriteHeader(http.StatusAccepted)
		return
	}
	u, body := ups[0], x.body
	if x.h.multi {
		target, id, ok := splitServerID(x.m.ID)
		if !ok || x.h.byName[target] == nil {
			x.status = statusInvalid
			writeRPCError(x.w, http.StatusBadRequest, nil, &rpcError{Code: codeInvalidRequest, Message: "Invalid Request: response to an unknown request id"})
			return
		}
		u = x.h.byName[target]
		m := *x.m
		m.ID = id
		body, _ = json.Marshal(&m)
	}
	r, err := u.send(x.ctx, x.newCall(u, nil, "", "", body))
	r.close()
	switch {
	case err != nil && r == nil:
		x.h.metrics.targetFailures.WithLabelValues(u.Name).Inc()
		x.status = statusUnavailable
		writeRPCError(x.w, http.StatusBadGateway, nil, &rpcError{Code: codeUpstreamUnavailable, Message: fmt.Sprintf("MCP target %q is unavailable", u.Name)})
	case r.status >= 400:
		x.status = statusError
		writeRPCError(x.w, r.status, nil, &rpcError{Code: codeInvalidRequest, Message: fmt.Sprintf("MCP target %q refused the response (HTTP %d)", u.Name, r.status)})
	default:
		x.w.WriteHeader(http.StatusAccepted)
	}
}

// Server-to-client request ids are made unique across targets as "gw:<target>:<original id JSON>".
func serverID(target string, id json.RawMessage) json.RawMessage {
	b, _ := json.Marshal("gw:" + target + ":" + string(id))
	return b
}

func splitServerID(id json.RawMessage) (string, json.RawMessage, bool) {
	var s string
	if json.Unmarshal(id, &s) != nil {
		return "", nil, false
	}
	rest, ok := strings.CutPrefix(s, "gw:")
	if !ok {
		return "", nil, false
	}
	target, orig, ok := strings.Cut(rest, ":")
	if !ok || !json.Valid([]byte(orig)) {
		return "", nil, false
	}
	return target, json.RawMessage(orig), true
}

// forward sends c to u and relays the reply to the client.
func (x *exchange) forward(u *upstream, c *call) {
	r, err := u.send(x.ctx, c)
	if err != nil {
		if r != nil && r.status >= 300 {
			x.fail(statusError, &rpcError{Code: codeInternalError, Message: fmt.Sprintf("MCP target %q refused the request (HTTP %d)", u.Name, r.status)})
			return
		}
		x.unavailable(u, err)
		return
	}
	defer r.close()
	x.relay(u, r)
}

// relay copies a target's reply to the client, event by event, flushing each one. It rewrites what
// multiplexing requires (event ids and server-to-client request ids carry the target) and turns a
// stream that breaks off before the response into a JSON-RPC error, so no client waits forever.
func (x *exchange) relay(u *upstream, r *reply) {
	w := x.w
	if r.src == nil {
		w.WriteHeader(r.status)
		return
	}
	if r.json {
		ev, _ := r.src.next()
		var e *rpcError
		if r.status >= 400 {
			var m message
			_ = json.Unmarshal(ev.Data, &m)
			e = m.Error
		}
		if x.upstreamSessionLost(r, e) {
			x.sessionLost(u)
			return
		}
		data, _ := x.outgoing(u, ev.Data)
		writeJSON(w, r.status, data)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(r.status)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	answered := false
	var streamErr error
	for !answered {
		ev, err := r.src.next()
		if err != nil {
			if err != io.EOF {
				streamErr = err
			}
			break
		}
		if x.h.multi && ev.HasID && ev.ID != "" {
			ev.ID = u.Name + "/" + ev.ID
		}
		if len(ev.Data) > 0 && (ev.Name == "" || ev.Name == "message") {
			ev.Data, answered = x.outgoing(u, ev.Data)
		}
		if err := writeEvent(w, ev); err != nil {
			return
		}
		_ = rc.Flush()
	}
	if !answered && x.m.kind() == kindRequest && x.ctx.Err() == nil {
		if streamErr == nil {
			streamErr = io.ErrUnexpectedEOF
		}
		x.h.metrics.targetFailures.WithLabelValues(u.Name).Inc()
		x.status = statusUnavailable
		e := &rpcError{Code: codeUpstreamUnavailable, Message: fmt.Sprintf("MCP target %q broke off before answering", u.Name), Data: errData(streamErr)}
		_ = writeEvent(w, sse.Event{Name: "message", Data: encodeError(x.m.ID, e)})
		_ = rc.Flush()
	}
}

// upstreamSessionLost recognises a target that forgot the upstream session (it restarted, timed the
// session out, or it was deleted): 404, or the 400 "no valid session" some servers answer. The
// client gets 404 so that it initializes again, as the MCP spec asks of clients.
func (x *exchange) upstreamSessionLost(r *reply, e *rpcError) bool {
	if x.sess == nil || x.h.cfg.SessionRouting == Stateless {
		return false
	}
	switch r.status {
	case http.StatusNotFound:
		return true
	case http.StatusBadRequest:
		return e != nil && strings.Contains(strings.ToLower(e.Message), "session")
	}
	return false
}

func (x *exchange) sessionLost(u *upstream) {
	x.status = statusInvalid
	x.h.metrics.sessions.WithLabelValues("upstream_lost").Inc()
	writeRPCError(x.w, http.StatusNotFound, x.m.ID, &rpcError{Code: codeSessionNotFound,
		Message: fmt.Sprintf("Session not found: MCP target %q no longer knows it; initialize again", u.Name)})
}

// prefixURIs gives the resource URIs in a message from target the client-facing "<target>+" form:
// message[outer].uri, or every message[outer][list][].uri when list is set.
func prefixURIs(data []byte, outer, list, target string) []byte {
	var msg map[string]json.RawMessage
	if json.Unmarshal(data, &msg) != nil {
		return data
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(msg[outer], &obj) != nil {
		return data
	}
	prefix := func(item map[string]json.RawMessage) {
		var uri string
		if json.Unmarshal(item["uri"], &uri) == nil && uri != "" {
			item["uri"], _ = json.Marshal(target + "+" + uri)
		}
	}
	if list == "" {
		prefix(obj)
	} else {
		var items []map[string]json.RawMessage
		if json.Unmarshal(obj[list], &items) != nil {
			return data
		}
		for _, it := range items {
			prefix(it)
		}
		obj[list], _ = json.Marshal(items)
	}
	msg[outer], _ = json.Marshal(obj)
	out, err := json.Marshal(msg)
	if err != nil {
		return data
	}
	return out
}

// outgoing inspects one message from u on its way to the client: it notes the outcome when it is the
// response to the client's request and rewrites server-to-client request ids when multiplexing.
func (x *exchange) outgoing(u *upstream, data []byte) ([]byte, bool) {
	// Decode only what routing needs; the result itself is passed through as bytes.
	var peek struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Error  *rpcError       `json:"error"`
	}
	if json.Unmarshal(data, &peek) != nil {
		return data, false
	}
	hasID := len(peek.ID) > 0 && string(peek.ID) != "null"
	switch {
	case hasID && peek.Method == "":
		if bytes.Equal(peek.ID, x.m.ID) {
			if peek.Error != nil {
				x.status = statusError
				x.span.SetAttributes(attrErrCode.Int(peek.Error.Code))
			} else if x.h.multi && x.m.Method == "resources/read" {
				data = prefixURIs(data, "result", "contents", u.Name)
			} else if x.m.Method == "tools/list" {
				x.h.learnListedTools(data)
			}
			return data, true
		}
	case hasID && x.h.multi:
		var m message
		if json.Unmarshal(data, &m) == nil {
			m.ID = serverID(u.Name, m.ID)
			b, _ := json.Marshal(&m)
			return b, false
		}
	case x.h.multi && peek.Method == "notifications/resources/updated":
		return prefixURIs(data, "params", "", u.Name), false
	}
	if peek.Error != nil && !hasID {
		x.status = statusError
		return data, true
	}
	return data, false
}
