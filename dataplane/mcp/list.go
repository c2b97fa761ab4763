package mcp

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
)

// maxListPages bounds how many pages the gateway follows per target when it merges lists.
const maxListPages = 64

// listSpec says where a list method keeps its items and which item field carries the routing key.
type listSpec struct {
	items string // "tools", "prompts", "resources", "resourceTemplates"
	field string // "name", "uri", "uriTemplate"
	sep   string // "_" for names, "+" for URIs
}

var listSpecs = map[string]listSpec{
	"tools/list":               {"tools", "name", "_"},
	"prompts/list":             {"prompts", "name", "_"},
	"resources/list":           {"resources", "uri", "+"},
	"resources/templates/list": {"resourceTemplates", "uriTemplate", "+"},
}

// list serves the list methods. With one target and nothing to filter it is a plain forward (the
// target's cursors pass through); otherwise every target is asked, all pages followed, names
// prefixed, refused tools dropped, and one merged page answered.
func (x *exchange) list() {
	spec := listSpecs[x.m.Method]
	ups := x.targets()
	filter := x.m.Method == "tools/list" && !x.h.cfg.Rules.empty()
	if !x.h.multi && len(ups) == 1 && !filter {
		x.forward(ups[0], x.newCall(ups[0], x.m.ID, x.m.Method, "", x.body))
		return
	}
	type part struct {
		items      []map[string]json.RawMessage
		nextCursor json.RawMessage
		err        error
		rpcErr     *rpcError
		lost       bool // the target no longer knows the upstream session
	}
	parts := make([]part, len(ups))
	fctx, cancel := x.fanoutContext()
	defer cancel()
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Go(func() {
			p := &parts[i]
			params := map[string]json.RawMessage{}
			_ = json.Unmarshal(x.m.Params, &params)
			for page := 0; page < maxListPages; page++ {
				body, _ := json.Marshal(&message{JSONRPC: "2.0", ID: x.m.ID, Method: x.m.Method, Params: mustJSON(params)})
				m, r, err := u.roundTrip(fctx, x.newCall(u, x.m.ID, x.m.Method, "", body))
				if err != nil {
					p.err = err
					return
				}
				if r != nil && x.upstreamSessionLost(r, m.Error) {
					p.lost = true
					return
				}
				if m.Error != nil {
					p.rpcErr = m.Error
					return
				}
				var res map[string]json.RawMessage
				if err := json.Unmarshal(m.Result, &res); err != nil {
					p.err = fmt.Errorf("decoding %s result: %w", x.m.Method, err)
					return
				}
				var items []map[string]json.RawMessage
				if err := json.Unmarshal(res[spec.items], &items); err != nil && res[spec.items] != nil {
					p.err = fmt.Errorf("decoding %s result: %w", x.m.Method, err)
					return
				}
				p.items = append(p.items, items...)
				var cursor string
				_ = json.Unmarshal(res["nextCursor"], &cursor)
				if !x.h.multi {
					// One target: keep its paging.
					p.nextCursor = res["nextCursor"]
					return
				}
				if cursor == "" {
					return
				}
				params["cursor"], _ = json.Marshal(cursor)
			}
		})
	}
	wg.Wait()
	merged := make([]map[string]json.RawMessage, 0, 32)
	var nextCursor json.RawMessage
	for i, u := range ups {
		if parts[i].lost {
			x.sessionLost(u)
			return
		}
	}
	for i, u := range ups {
		p := parts[i]
		if p.err != nil || p.rpcErr != nil {
			if p.rpcErr != nil && (x.h.cfg.FailureMode == FailClosed || !x.h.multi) {
				if len(ups) == 1 {
					x.status = statusError
					writeJSON(x.w, 200, encodeError(x.m.ID, p.rpcErr))
					return
				}
				x.fail(statusError, &rpcError{Code: p.rpcErr.Code, Message: fmt.Sprintf("MCP target %q: %s", u.Name, p.rpcErr.Message), Data: p.rpcErr.Data})
				return
			}
			if p.err != nil && (x.h.cfg.FailureMode == FailClosed || len(ups) == 1) {
				x.unavailable(u, p.err)
				return
			}
			x.h.metrics.targetFailures.WithLabelValues(u.Name).Inc()
			x.h.log.LogAttrs(x.ctx, slog.LevelWarn, "mcp target left out of list", slog.String("target", u.Name), slog.String("method", x.m.Method))
			continue
		}
		nextCursor = p.nextCursor
		for _, it := range p.items {
			var key string
			if json.Unmarshal(it[spec.field], &key) != nil {
				continue
			}
			exposed := x.h.exposedName(u.Name, key)
			if spec.sep == "+" {
				exposed = x.h.exposedURI(u.Name, key)
			}
			if x.m.Method == "tools/list" {
				x.h.learnTool(exposed)
				if !x.h.cfg.Rules.permits(u.Name, key, exposed, x.claims) {
					continue
				}
			}
			if exposed != key {
				it[spec.field], _ = json.Marshal(exposed)
			}
			merged = append(merged, it)
		}
	}
	res := map[string]any{spec.items: merged}
	if len(nextCursor) > 0 && string(nextCursor) != "null" {
		res["nextCursor"] = nextCursor
	}
	x.result(res)
}
