package mcp

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/propagation"
)

// initialize opens a client session (2025-11-25 generation): every target is initialized with the
// client's own request, and the upstream session ids are sealed into the client's Mcp-Session-Id.
// With one target its InitializeResult is answered as is; with several they are merged.
func (h *Handler) initialize(x *exchange) {
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(x.m.Params, &p)
	type answer struct {
		res map[string]json.RawMessage
		ts  targetSession
		err error
	}
	answers := make([]answer, len(h.ups))
	fctx, cancel := x.fanoutContext()
	defer cancel()
	var wg sync.WaitGroup
	for i, u := range h.ups {
		wg.Go(func() {
			a := &answers[i]
			c := &call{id: x.m.ID, method: "initialize", body: x.body, header: passHeaders(x.r), isInit: true}
			h.prop.Inject(x.ctx, propagation.HeaderCarrier(c.header))
			m, r, err := u.roundTrip(fctx, c)
			if err != nil {
				a.err = err
				return
			}
			if m.Error != nil {
				a.err = m.Error
				return
			}
			if err := json.Unmarshal(m.Result, &a.res); err != nil {
				a.err = fmt.Errorf("decoding initialize result: %w", err)
				return
			}
			var v string
			_ = json.Unmarshal(a.res["protocolVersion"], &v)
			a.ts = targetSession{Name: u.Name, Version: v}
			if r != nil && r.header != nil && u.Protocol != SSE {
				a.ts.SessionID = r.header.Get("Mcp-Session-Id")
			}
			if h.cfg.SessionRouting == Stateless || u.Protocol == SSE {
				// The probe's session is not kept: every later call opens its own.
				u.terminate(a.ts)
				a.ts.SessionID = ""
			}
		})
	}
	wg.Wait()

	s := &session{Issued: time.Now().Truncate(time.Second)}
	var results []map[string]json.RawMessage
	var names []string
	for i, a := range answers {
		u := h.ups[i]
		if a.err != nil {
			h.metrics.targetFailures.WithLabelValues(u.Name).Inc()
			h.log.LogAttrs(x.ctx, slog.LevelWarn, "mcp target failed to initialize", slog.String("target", u.Name), slog.String("error", a.err.Error()))
			if h.cfg.FailureMode == FailClosed || len(h.ups) == 1 {
				for _, b := range answers {
					if b.err == nil {
						h.byName[b.ts.Name].terminate(b.ts)
					}
				}
				if re, ok := a.err.(*rpcError); ok && len(h.ups) == 1 {
					x.status = statusError
					writeJSON(x.w, http.StatusOK, encodeError(x.m.ID, re))
					return
				}
				x.unavailable(u, a.err)
				return
			}
			continue
		}
		s.Targets = append(s.Targets, a.ts)
		results = append(results, a.res)
		names = append(names, u.Name)
	}
	if len(s.Targets) == 0 {
		x.fail(statusUnavailable, &rpcError{Code: codeUpstreamUnavailable, Message: "No MCP target could be initialized"})
		return
	}
	var result any
	if !h.multi {
		result = results[0]
		s.Version = s.Targets[0].Version
	} else {
		s.Version = lowestVersion(p.ProtocolVersion, s.Targets)
		result = h.mergeInitialize(s.Version, names, results)
	}
	sid, err := h.sealer.seal(s, principal(x.claims))
	if err != nil {
		x.fail(statusError, &rpcError{Code: codeInternalError, Message: "cannot create session"})
		return
	}
	h.metrics.sessions.WithLabelValues("created").Inc()
	x.span.SetAttributes(attrSession.String(sessionTag(sid)), attrVersion.String(s.Version))
	x.w.Header().Set("Mcp-Session-Id", sid)
	x.result(result)
}

// lowestVersion is the version the session speaks: the client's if every target accepted it, else
// the oldest a target answered (versions are dates, so they order as strings).
func lowestVersion(requested string, ts []targetSession) string {
	v := requested
	for _, t := range ts {
		if t.Version != "" && (v == "" || t.Version < v) {
			v = t.Version
		}
	}
	return v
}

// mergeInitialize combines several InitializeResults: the union of capabilities, the targets'
// instructions under their names, and the gateway's own serverInfo.
func (h *Handler) mergeInitialize(version string, names []string, results []map[string]json.RawMessage) map[string]any {
	caps := map[string]map[string]any{}
	var instructions []string
	for i, r := range results {
		var c map[string]map[string]any
		_ = json.Unmarshal(r["capabilities"], &c)
		for k, v := range c {
			if caps[k] == nil {
				caps[k] = map[string]any{}
			}
			maps.Copy(caps[k], v)
		}
		var ins string
		if json.Unmarshal(r["instructions"], &ins) == nil && ins != "" {
			instructions = append(instructions, fmt.Sprintf("## Target %s (tools and prompts prefixed %s_)\n\n%s", names[i], names[i], ins))
		}
	}
	out := map[string]any{
		"protocolVersion": version,
		"capabilities":    caps,
		"serverInfo":      map[string]any{"name": h.cfg.ServerName, "version": "1.0.0"},
	}
	if len(instructions) > 0 {
		out["instructions"] = strings.Join(instructions, "\n\n")
	}
	return out
}

// serveGet opens the server-to-client stream of a session: the target's own stream with one target
// (Last-Event-ID passed through), or the targets' streams merged with event ids "<target>/<id>".
func (h *Handler) serveGet(w http.ResponseWriter, r *http.Request) {
	x := &exchange{h: h, w: w, r: r, ctx: r.Context(), m: &message{Method: "GET"}, claims: h.claims(r), status: statusOK}
	ctx, span := h.tracer.Start(r.Context(), "mcp GET stream")
	x.ctx, x.span = ctx, span
	defer span.End()
	if r.Header.Get("Mcp-Protocol-Version") >= versionModern {
		w.Header().Set("Allow", "POST")
		writeRPCError(w, http.StatusMethodNotAllowed, nil, &rpcError{Code: codeServerError, Message: "Method not allowed: use subscriptions/listen"})
		return
	}
	if !x.openSession() {
		return
	}
	if h.cfg.SessionRouting == Stateless {
		w.Header().Set("Allow", "POST, DELETE")
		writeRPCError(w, http.StatusMethodNotAllowed, nil, &rpcError{Code: codeServerError, Message: "Method not allowed: sessions are stateless upstream"})
		return
	}
	h.openStreams(x, r.Header.Get("Last-Event-ID"))
}

// serveDelete ends a session: every upstream session is deleted.
func (h *Handler) serveDelete(w http.ResponseWriter, r *http.Request) {
	x := &exchange{h: h, w: w, r: r, ctx: r.Context(), m: &message{Method: "DELETE"}, claims: h.claims(r), status: statusOK}
	ctx, span := h.tracer.Start(r.Context(), "mcp DELETE session")
	x.ctx, x.span = ctx, span
	defer span.End()
	if !x.openSession() {
		return
	}
	var wg sync.WaitGroup
	for _, t := range x.sess.Targets {
		u := h.byName[t.Name]
		if u == nil || t.SessionID == "" {
			continue
		}
		wg.Go(func() {
			if _, err := u.delete(x.ctx, t); err != nil {
				h.metrics.targetFailures.WithLabelValues(u.Name).Inc()
			}
		})
	}
	wg.Wait()
	h.metrics.sessions.WithLabelValues("terminated").Inc()
	w.WriteHeader(http.StatusOK)
}
