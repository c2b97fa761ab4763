// Package resolve turns a catalog and a platform config into the enabled set of groups, with
// the closure of their requirements, in dependency order.
package resolve

import (
	"fmt"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
)

// Entry is one group's resolution.
type Entry struct {
	Name    string `json:"name"`
	Layer   string `json:"layer"`
	Core    bool   `json:"core"`
	Enabled bool   `json:"enabled"`
	// Reason says why: "core", "feature flag", "default", "required by mcp", "knob gpuStack=operator", "off".
	Reason      string `json:"reason"`
	CatalogPath string `json:"catalogPath"`
}

// Result is the resolution of every group.
type Result struct {
	// All holds every group of the catalog, in table order (layers, then catalog order).
	All []Entry `json:"groups"`
	// Order is the enabled groups in dependency order: each group after those it requires.
	Order []*catalog.Group `json:"-"`
	// Warnings are the platform config's warnings, then each failed warning condition of an
	// enabled group (in table order): reported, not fatal.
	Warnings []string `json:"warnings"`
	// header starts the groups file (the catalog's setting).
	header string
}

// Error is a resolution failure (cycle, unknown group, conflict, unmet condition); exit 2.
type Error struct {
	Msg string
	// Unmet holds, when only conditions failed, each enabled group whose conditions do not
	// hold with why, and Partial the resolution as if they held: a command working on some
	// groups only (render --group) can go on when none of those is among them or what they
	// require.
	Unmet   map[string]string
	Partial *Result
}

func (e *Error) Error() string { return e.Msg }

// Resolve computes the enabled set.
func Resolve(cat *catalog.Catalog, cfg *platform.Config) (*Result, error) {
	if err := checkGraph(cat); err != nil {
		return nil, err
	}
	enabled := map[string]string{} // name -> reason
	for _, g := range cat.Groups {
		switch {
		case g.Core:
			enabled[g.Name] = "core"
		case cfg.Explicit[g.Feature]:
			if cfg.Features[g.Feature] {
				enabled[g.Name] = "feature flag"
			}
		case g.EnabledBy != nil && holds(*g.EnabledBy, cfg):
			enabled[g.Name] = "knob " + describe(*g.EnabledBy, cfg)
		case g.Default:
			enabled[g.Name] = "default"
		}
	}
	// Closure of requires, breadth-first from groups in table order so reasons are stable.
	queue := []string{}
	for _, g := range cat.Groups {
		if _, ok := enabled[g.Name]; ok {
			queue = append(queue, g.Name)
		}
	}
	via := map[string]string{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		g, _ := cat.Group(name)
		for _, req := range g.Requires {
			if _, ok := enabled[req]; ok {
				continue
			}
			rg, _ := cat.Group(req)
			chain := chainOf(name, via) + " -> " + req
			if cfg.Explicit[rg.Feature] && !cfg.Features[rg.Feature] {
				return nil, &Error{Msg: fmt.Sprintf("group %q requires %q, but features.%s is explicitly false (%s); turn it on or turn %q off",
					name, req, rg.Feature, chain, rootOf(name, via))}
			}
			enabled[req] = "required by " + name
			via[req] = name
			queue = append(queue, req)
		}
	}
	// Conditions of every enabled group must hold; a failed warning is reported, not fatal.
	res := &Result{header: cat.Header, Warnings: append([]string{}, cfg.Warnings...)}
	var problems []string
	unmet := map[string]string{}
	for _, g := range cat.Groups {
		if _, ok := enabled[g.Name]; !ok {
			continue
		}
		for _, c := range g.Conditions {
			if holds(c, cfg) {
				continue
			}
			msg := c.Message
			if msg == "" {
				msg = needs(c, cfg)
			}
			line := fmt.Sprintf("group %q (%s): %s", g.Name, enabled[g.Name], msg)
			if c.Severity == catalog.SeverityWarning {
				res.Warnings = append(res.Warnings, line)
				continue
			}
			problems = append(problems, line)
			if unmet[g.Name] == "" {
				unmet[g.Name] = line
			}
		}
	}
	for _, g := range cat.Groups {
		reason, on := enabled[g.Name]
		if !on {
			reason = "off"
		}
		path, err := catalogPath(cfg, g.Name)
		if err != nil {
			return nil, err
		}
		res.All = append(res.All, Entry{Name: g.Name, Layer: g.Layer, Core: g.Core, Enabled: on, Reason: reason, CatalogPath: path})
	}
	res.Order = topo(cat, enabled)
	if len(problems) > 0 {
		return nil, &Error{Msg: strings.Join(problems, "\n"), Unmet: unmet, Partial: res}
	}
	return res, nil
}

// Closure is names and every group they require, directly or not.
func Closure(cat *catalog.Catalog, names []string) map[string]bool {
	out := map[string]bool{}
	queue := append([]string(nil), names...)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if out[n] {
			continue
		}
		out[n] = true
		if g, ok := cat.Group(n); ok {
			queue = append(queue, g.Requires...)
		}
	}
	return out
}

func chainOf(name string, via map[string]string) string {
	parts := []string{name}
	for p, ok := via[name]; ok; p, ok = via[p] {
		parts = append([]string{p}, parts...)
	}
	return strings.Join(parts, " -> ")
}

func rootOf(name string, via map[string]string) string {
	for p, ok := via[name]; ok; p, ok = via[p] {
		name = p
	}
	return name
}

// checkGraph rejects unknown requirements and cycles, naming the chain.
func checkGraph(cat *catalog.Catalog) error {
	for _, g := range cat.Groups {
		for _, r := range g.Requires {
			if _, ok := cat.Group(r); !ok {
				return &Error{Msg: fmt.Sprintf("%s: group %q requires unknown group %q", g.File, g.Name, r)}
			}
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(string) error
	visit = func(n string) error {
		color[n] = grey
		stack = append(stack, n)
		g, _ := cat.Group(n)
		for _, r := range g.Requires {
			switch color[r] {
			case grey:
				i := indexOf(stack, r)
				return &Error{Msg: fmt.Sprintf("requirement cycle: %s -> %s", strings.Join(stack[i:], " -> "), r)}
			case white:
				if err := visit(r); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return nil
	}
	for _, g := range cat.Groups {
		if color[g.Name] == white {
			if err := visit(g.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func indexOf(s []string, v string) int {
	for i, e := range s {
		if e == v {
			return i
		}
	}
	return 0
}

// topo orders the enabled groups so each comes after what it requires; among groups that are
// free to go, table order decides, so the order is deterministic.
func topo(cat *catalog.Catalog, enabled map[string]string) []*catalog.Group {
	rank := map[string]int{}
	for i, g := range cat.Groups {
		rank[g.Name] = i
	}
	done := map[string]bool{}
	var out []*catalog.Group
	for len(out) < len(enabled) {
		var ready []*catalog.Group
		for _, g := range cat.Groups {
			if _, on := enabled[g.Name]; !on || done[g.Name] {
				continue
			}
			ok := true
			for _, r := range g.Requires {
				if !done[r] {
					ok = false
					break
				}
			}
			if ok {
				ready = append(ready, g)
			}
		}
		sort.SliceStable(ready, func(i, j int) bool { return rank[ready[i].Name] < rank[ready[j].Name] })
		g := ready[0]
		done[g.Name] = true
		out = append(out, g)
	}
	return out
}

// holds evaluates a condition on the config; values compare as text.
func holds(c catalog.Condition, cfg *platform.Config) bool {
	v, present := cfg.Lookup(c.Knob)
	text := platform.Text(v)
	switch c.Op {
	case catalog.OpEquals:
		return text == c.Values[0]
	case catalog.OpNotEquals:
		return text != c.Values[0]
	case catalog.OpIn:
		for _, w := range c.Values {
			if text == w {
				return true
			}
		}
		return false
	case catalog.OpExists:
		return (present && v != nil) == c.Exists
	}
	return text != ""
}

// describe says why a knob turned a group on.
func describe(c catalog.Condition, cfg *platform.Config) string {
	if c.Op == catalog.OpExists && !c.Exists {
		return c.Knob + " unset"
	}
	return c.Knob + "=" + cfg.Knob(c.Knob)
}

// needs describes a failed condition that has no message of its own.
func needs(c catalog.Condition, cfg *platform.Config) string {
	var msg string
	switch c.Op {
	case catalog.OpEquals:
		msg = fmt.Sprintf("needs %s=%s", c.Knob, c.Values[0])
	case catalog.OpNotEquals:
		msg = fmt.Sprintf("needs %s other than %s", c.Knob, c.Values[0])
	case catalog.OpIn:
		msg = fmt.Sprintf("needs %s to be one of %s", c.Knob, strings.Join(c.Values, ", "))
	case catalog.OpExists:
		if !c.Exists {
			return fmt.Sprintf("needs %s to be unset (it is %q)", c.Knob, cfg.Knob(c.Knob))
		}
		return fmt.Sprintf("needs %s to be set", c.Knob)
	default:
		return fmt.Sprintf("needs %s to be set", c.Knob)
	}
	if v := cfg.Knob(c.Knob); v != "" {
		msg += fmt.Sprintf(" (it is %q)", v)
	}
	return msg
}
