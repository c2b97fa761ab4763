package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/infergw/gwctl/dataplane/config"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
)

// statusWriter remembers what it learnt from the API server between passes.
type statusWriter struct {
	c           *Controller
	bundle      string
	bundleAt    time.Time
	bundleKnown bool
}

// writeStatus computes the status of every object the last compile decided about and updates
// those whose status differs (conditions compared without their transition times), so an
// unchanged object is never written. Only the leader calls it.
func (c *Controller) writeStatus() {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := c.last
	if cp == nil || cp.res == nil || cp.res.Config == nil || cp.res.Config.Outcome == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := cp.res.Config.Outcome
	ctl := c.opts.Compile.ControllerName
	programmed := statusCond{ok: cp.applied, reason: "Programmed", msg: "the dataplane serves this Gateway's routes"}
	if !cp.applied {
		programmed = statusCond{reason: "Invalid", msg: "the resources do not compile; the dataplane keeps serving the last good configuration: " + why(cp.err)}
	}

	c.syncServices(ctx)
	for _, u := range c.list("GatewayClass") {
		if s, _, _ := unstructured.NestedString(u.Object, "spec", "controllerName"); s == ctl {
			c.update(ctx, gvrGatewayClass, u, c.classStatus(ctx, u))
		}
	}
	for n, g := range out.Gateways {
		if u := cp.byKey[objKey("Gateway", n.Namespace, n.Name)]; u != nil {
			c.update(ctx, gvrGateway, u, c.gatewayStatus(u, n, g, programmed))
		}
	}
	routes := map[gateway.NamespacedName]bool{}
	for n, r := range out.Routes {
		routes[n] = true
		if u := cp.byKey[objKey("HTTPRoute", n.Namespace, n.Name)]; u != nil {
			c.update(ctx, gvrHTTPRoute, u, routeStatus(u, ctl, r.Parents, r.ResolvedRefs))
		}
	}
	for n, msg := range cp.dropped {
		if u := cp.byKey[objKey("HTTPRoute", n.Namespace, n.Name)]; u != nil && !routes[n] {
			c.update(ctx, gvrHTTPRoute, u, routeStatus(u, ctl, droppedParents(u, out, msg), gateway.Condition{OK: true, Reason: "ResolvedRefs"}))
		}
	}
	for n, p := range out.Pools {
		if u := cp.byKey[objKey("InferencePool", n.Namespace, n.Name)]; u != nil {
			c.update(ctx, gvrPool, u, poolStatus(u, ctl, p))
		}
	}
	for _, u := range c.list("AgentgatewayPolicy") {
		if s := policyStatus(u, ctl, out, cp.res.Findings); s != nil {
			c.update(ctx, gvrPolicy, u, s)
		}
	}
	for _, u := range c.list("BackendTLSPolicy") {
		if s := backendTLSStatus(u, ctl, out, cp.byKey); s != nil {
			c.update(ctx, gvrBackendTLS, u, s)
		}
	}
}

func why(err error) string {
	if err == nil {
		return ""
	}
	if inv, ok := err.(*config.InvalidError); ok {
		var msgs []string
		for _, f := range inv.Findings {
			if blocks(f) {
				msgs = append(msgs, f.Resource.String()+" "+f.Field+": "+f.Message)
				if len(msgs) == 3 {
					break
				}
			}
		}
		return strings.Join(msgs, "; ")
	}
	return err.Error()
}

func (c *Controller) list(kind string) []*unstructured.Unstructured {
	l := c.listers[kind]
	if l == nil {
		return nil
	}
	objs, _ := l.List(labels.Everything())
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out
}

// update writes status when it differs from the object's; a conflict (the object changed
// meanwhile) is retried by the compile its change triggers.
func (c *Controller) update(ctx context.Context, gvr schema.GroupVersionResource, u *unstructured.Unstructured, status map[string]any) {
	old, _ := u.Object["status"].(map[string]any)
	if sameJSON(old, status) {
		return
	}
	obj := u.DeepCopy()
	obj.Object["status"] = status
	var err error
	if u.GetNamespace() == "" {
		_, err = c.dyn.Resource(gvr).UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: "gwctl-dataplane"})
	} else {
		_, err = c.dyn.Resource(gvr).Namespace(u.GetNamespace()).UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: "gwctl-dataplane"})
	}
	c.statusWrites.Add(1)
	switch {
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
		c.log.Debug("status write raced a change; the next compile writes it", slog.String("object", gvr.Resource+"/"+u.GetNamespace()+"/"+u.GetName()))
	case err != nil:
		c.log.Warn("status write failed", slog.String("object", gvr.Resource+"/"+u.GetNamespace()+"/"+u.GetName()), slog.String("error", err.Error()))
	}
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

type statusCond struct {
	ok          bool
	reason, msg string
}

func fromCond(c gateway.Condition) statusCond {
	return statusCond{ok: c.OK, reason: c.Reason, msg: c.Message}
}

// conditions builds a condition list, keeping each condition's lastTransitionTime from old when
// its status did not change (so a rewrite of the same state compares equal).
func conditions(old []any, gen int64, conds ...struct {
	typ string
	statusCond
}) []any {
	prev := map[string]map[string]any{}
	for _, o := range old {
		if m, ok := o.(map[string]any); ok {
			if t, _ := m["type"].(string); t != "" {
				prev[t] = m
			}
		}
	}
	now := time.Now().UTC().Format(time.RFC3339)
	out := make([]any, 0, len(conds))
	for _, c := range conds {
		st := "False"
		if c.ok {
			st = "True"
		}
		ltt := now
		if p := prev[c.typ]; p != nil && p["status"] == st {
			if s, _ := p["lastTransitionTime"].(string); s != "" {
				ltt = s
			}
		}
		msg := c.msg
		if len(msg) > 32768 {
			msg = msg[:32768]
		}
		out = append(out, map[string]any{"type": c.typ, "status": st, "reason": c.reason, "message": msg,
			"observedGeneration": gen, "lastTransitionTime": ltt})
	}
	return out
}

type namedCond = struct {
	typ string
	statusCond
}

func nc(typ string, c statusCond) namedCond { return namedCond{typ: typ, statusCond: c} }

func oldConds(m map[string]any) []any {
	l, _ := m["conditions"].([]any)
	return l
}

// classStatus: Accepted, and SupportedVersion from the installed Gateway API bundle.
func (c *Controller) classStatus(ctx context.Context, u *unstructured.Unstructured) map[string]any {
	old, _ := u.Object["status"].(map[string]any)
	v := c.writer.bundleVersion(ctx)
	supported := statusCond{ok: true, reason: "SupportedVersion", msg: "Gateway API " + v + " is supported"}
	accepted := statusCond{ok: true, reason: "Accepted", msg: "served by the gwctl dataplane"}
	if v != "" && !supportedBundle(v) {
		supported = statusCond{reason: "UnsupportedVersion", msg: "Gateway API " + v + " is installed; the dataplane supports v1.0 to v1.6"}
		accepted = statusCond{reason: "UnsupportedVersion", msg: supported.msg}
	}
	if v == "" {
		supported.msg = "the Gateway API bundle version is unknown (CRD " + CRDName + " unreadable)"
	}
	st := map[string]any{"conditions": conditions(oldConds(old), u.GetGeneration(), nc("Accepted", accepted), nc("SupportedVersion", supported))}
	if sv, ok := old["supportedFeatures"]; ok {
		st["supportedFeatures"] = sv
	}
	return st
}

func supportedBundle(v string) bool {
	for _, ok := range []string{"v1.0.", "v1.1.", "v1.2.", "v1.3.", "v1.4.", "v1.5.", "v1.6."} {
		if strings.HasPrefix(v, ok) {
			return true
		}
	}
	return false
}

// bundleVersion reads gateway.networking.k8s.io/bundle-version from the Gateway CRD, at most
// once a minute.
func (w *statusWriter) bundleVersion(ctx context.Context) string {
	if w.bundleKnown && time.Since(w.bundleAt) < time.Minute {
		return w.bundle
	}
	u, err := w.c.dyn.Resource(gvrCRD).Get(ctx, CRDName, metav1.GetOptions{})
	w.bundleAt, w.bundleKnown = time.Now(), true
	if err != nil {
		w.bundle = ""
		return ""
	}
	w.bundle = u.GetAnnotations()["gateway.networking.k8s.io/bundle-version"]
	return w.bundle
}

// gatewayStatus: addresses of its Service, Accepted, Programmed, and per listener its attached
// routes and conditions.
func (c *Controller) gatewayStatus(u *unstructured.Unstructured, n gateway.NamespacedName, g *gateway.GatewayOutcome, programmed statusCond) map[string]any {
	old, _ := u.Object["status"].(map[string]any)
	gen := u.GetGeneration()
	addrs, svcName := c.gatewayAddresses(n)
	accepted := statusCond{ok: true, reason: "Accepted", msg: "the dataplane serves this Gateway"}
	anyOK, allOK := false, true
	for _, l := range g.Listeners {
		anyOK = anyOK || l.Accepted.OK
		allOK = allOK && l.Accepted.OK
	}
	switch {
	case !anyOK:
		accepted = statusCond{reason: "ListenersNotValid", msg: "no listener has a protocol the dataplane serves (HTTP)"}
	case !allOK:
		accepted = statusCond{ok: true, reason: "ListenersNotValid", msg: "some listeners are not valid; the others are served"}
	}
	gp := programmed
	if gp.ok && len(addrs) == 0 {
		gp = statusCond{reason: "AddressNotAssigned", msg: "Service " + svcName + " has no address yet"}
	}
	oldListeners := map[string]map[string]any{}
	if ls, ok := old["listeners"].([]any); ok {
		for _, l := range ls {
			if m, ok := l.(map[string]any); ok {
				n, _ := m["name"].(string)
				oldListeners[n] = m
			}
		}
	}
	conflicts := conflicted(g.Listeners)
	var listeners []any
	for _, l := range g.Listeners {
		kinds := []any{}
		for _, k := range l.SupportedKinds {
			kinds = append(kinds, map[string]any{"group": gateway.GroupGateway, "kind": k})
		}
		lp := programmed
		if !l.Accepted.OK {
			lp = statusCond{reason: "Invalid", msg: l.Accepted.Message}
		}
		if !l.ResolvedRefs.OK && lp.ok {
			lp = statusCond{reason: "Invalid", msg: "a reference does not resolve: " + l.ResolvedRefs.Message}
		}
		conf := statusCond{reason: "NoConflicts", msg: "no conflict"}
		switch {
		case l.Conflicted.Reason != "":
			conf = fromCond(l.Conflicted)
			lp = statusCond{reason: "Invalid", msg: conf.msg}
		case conflicts[l.Name] != "":
			conf = statusCond{ok: true, reason: conflicts[l.Name], msg: "another listener has the same port and hostname"}
			lp = statusCond{reason: "Invalid", msg: conf.msg}
		}
		listeners = append(listeners, map[string]any{
			"name": l.Name, "supportedKinds": kinds, "attachedRoutes": int64(l.AttachedRoutes),
			"conditions": conditions(oldConds(oldListeners[l.Name]), gen,
				nc("Accepted", fromCond(l.Accepted)), nc("Programmed", lp), nc("ResolvedRefs", fromCond(l.ResolvedRefs)), nc("Conflicted", conf)),
		})
	}
	resolved := statusCond{ok: true, reason: "ResolvedRefs", msg: "every reference of the Gateway resolves"}
	if !g.ResolvedRefs.OK {
		resolved = fromCond(g.ResolvedRefs)
	}
	conds := []namedCond{nc("Accepted", accepted), nc("Programmed", gp), nc("ResolvedRefs", resolved)}
	if g.InsecureFrontend {
		// Present only while a listener allows the fallback; removed when none does.
		conds = append(conds, nc("InsecureFrontendValidationMode", statusCond{ok: true, reason: "ConfigurationChanged",
			msg: "an HTTPS listener accepts clients without a valid certificate (spec.tls.frontend mode AllowInsecureFallback)"}))
	}
	st := map[string]any{"conditions": conditions(oldConds(old), gen, conds...)}
	if len(addrs) > 0 {
		st["addresses"] = addrs
	}
	if len(listeners) > 0 {
		st["listeners"] = listeners
	}
	return st
}

// conflicted names the listeners sharing a port and hostname with an earlier one.
func conflicted(ls []*gateway.ListenerOutcome) map[string]string {
	out := map[string]string{}
	seen := map[string]string{}
	for _, l := range ls {
		k := fmt.Sprintf("%d/%s", l.Port, l.Hostname)
		if first, dup := seen[k]; dup {
			out[l.Name], out[first] = "HostnameConflict", "HostnameConflict"
			continue
		}
		seen[k] = l.Name
	}
	return out
}

// routeStatus replaces this controller's entries of status.parents and keeps other
// controllers'.
func routeStatus(u *unstructured.Unstructured, ctl string, parents []*gateway.ParentOutcome, resolved gateway.Condition) map[string]any {
	old, _ := u.Object["status"].(map[string]any)
	oldParents, _ := old["parents"].([]any)
	var out []any
	mine := map[string]map[string]any{}
	for _, p := range oldParents {
		m, _ := p.(map[string]any)
		if m == nil {
			continue
		}
		if m["controllerName"] != ctl {
			out = append(out, m)
			continue
		}
		ref, _ := json.Marshal(m["parentRef"])
		mine[string(ref)] = m
	}
	gen := u.GetGeneration()
	for _, p := range parents {
		ref := parentRef(p.Ref)
		rj, _ := json.Marshal(ref)
		out = append(out, map[string]any{
			"parentRef": ref, "controllerName": ctl,
			"conditions": conditions(oldConds(mine[string(rj)]), gen, nc("Accepted", fromCond(p.Accepted)), nc("ResolvedRefs", fromCond(resolved))),
		})
	}
	st := map[string]any{"parents": out}
	if out == nil {
		st["parents"] = []any{}
	}
	return st
}

// parentRef is the parentRef as written, with the defaults the API server would report.
func parentRef(ref map[string]any) map[string]any {
	out := map[string]any{"group": gateway.GroupGateway, "kind": "Gateway"}
	for k, v := range ref {
		out[k] = v
	}
	return out
}

// droppedParents are the parents a route would have had on our Gateways, refused because the
// route does not compile.
func droppedParents(u *unstructured.Unstructured, out *gateway.Outcome, msg string) []*gateway.ParentOutcome {
	refs, _, _ := unstructured.NestedSlice(u.Object, "spec", "parentRefs")
	var ps []*gateway.ParentOutcome
	for _, r := range refs {
		m, _ := r.(map[string]any)
		ns, _ := m["namespace"].(string)
		if ns == "" {
			ns = u.GetNamespace()
		}
		name, _ := m["name"].(string)
		gw := gateway.NamespacedName{Namespace: ns, Name: name}
		if out.Gateways[gw] == nil {
			continue
		}
		ps = append(ps, &gateway.ParentOutcome{Ref: m, Gateway: gw, Accepted: gateway.Condition{Reason: "UnsupportedValue", Message: msg}})
	}
	return ps
}

// poolStatus: one parent per Gateway whose routes send to the pool (the Inference Extension's
// InferencePool status), other controllers' parents kept.
func poolStatus(u *unstructured.Unstructured, ctl string, p *gateway.PoolOutcome) map[string]any {
	old, _ := u.Object["status"].(map[string]any)
	oldParents, _ := old["parents"].([]any)
	var out []any
	mine := map[string]map[string]any{}
	for _, e := range oldParents {
		m, _ := e.(map[string]any)
		if m == nil {
			continue
		}
		if m["controllerName"] != ctl {
			out = append(out, m)
			continue
		}
		ref, _ := m["parentRef"].(map[string]any)
		ns, _ := ref["namespace"].(string)
		name, _ := ref["name"].(string)
		mine[ns+"/"+name] = m
	}
	parents := append([]gateway.NamespacedName(nil), p.Parents...)
	sort.Slice(parents, func(i, j int) bool { return parents[i].String() < parents[j].String() })
	gen := u.GetGeneration()
	for _, gw := range parents {
		out = append(out, map[string]any{
			"parentRef":      map[string]any{"group": gateway.GroupGateway, "kind": "Gateway", "namespace": gw.Namespace, "name": gw.Name},
			"controllerName": ctl,
			"conditions": conditions(oldConds(mine[gw.String()]), gen,
				nc("Accepted", statusCond{ok: true, reason: "Accepted", msg: "routes of this Gateway send to the pool"}),
				nc("ResolvedRefs", statusCond{ok: true, reason: "ResolvedRefs", msg: "the dataplane picks the pool's endpoints itself"})),
		})
	}
	return map[string]any{"parents": out}
}

// policyStatus: one ancestor per target on our Gateways or routes, Accepted unless the policy
// has error findings. Nil when the policy targets nothing of ours.
func policyStatus(u *unstructured.Unstructured, ctl string, out *gateway.Outcome, fs []finding.Finding) map[string]any {
	targets, _, _ := unstructured.NestedSlice(u.Object, "spec", "targetRefs")
	accepted := statusCond{ok: true, reason: "Accepted", msg: "the policy is applied"}
	for _, f := range fs {
		if f.Severity == finding.Error && f.Resource.Kind == "AgentgatewayPolicy" && f.Resource.Namespace == u.GetNamespace() && f.Resource.Name == u.GetName() {
			accepted = statusCond{reason: "Invalid", msg: f.Field + ": " + f.Message}
			break
		}
	}
	var refs []map[string]any
	for _, t := range targets {
		m, _ := t.(map[string]any)
		kind, _ := m["kind"].(string)
		name, _ := m["name"].(string)
		n := gateway.NamespacedName{Namespace: u.GetNamespace(), Name: name}
		ours := kind == "Gateway" && out.Gateways[n] != nil || kind == "HTTPRoute" && out.Routes[n] != nil
		if !ours {
			continue
		}
		ref := map[string]any{"group": gateway.GroupGateway, "kind": kind, "namespace": n.Namespace, "name": name}
		if s, _ := m["sectionName"].(string); s != "" {
			ref["sectionName"] = s
		}
		refs = append(refs, ref)
	}
	return ancestorStatus(u, ctl, refs, func(old []any) []any {
		return conditions(old, u.GetGeneration(), nc("Accepted", accepted),
			nc("Attached", statusCond{ok: accepted.ok, reason: map[bool]string{true: "Attached", false: "Invalid"}[accepted.ok], msg: accepted.msg}))
	})
}

// ancestorStatus is a policy's status (Gateway API PolicyStatus): our ancestors refs, each with
// the conditions conds makes from its previous ones, and other controllers' ancestors kept. Nil
// when the policy has no ancestor of ours, now or before.
func ancestorStatus(u *unstructured.Unstructured, ctl string, refs []map[string]any, conds func(old []any) []any) map[string]any {
	old, _ := u.Object["status"].(map[string]any)
	oldAnc, _ := old["ancestors"].([]any)
	var keep []any
	mine := map[string]map[string]any{}
	for _, a := range oldAnc {
		m, _ := a.(map[string]any)
		if m == nil {
			continue
		}
		if m["controllerName"] != ctl {
			keep = append(keep, m)
			continue
		}
		ref, _ := json.Marshal(m["ancestorRef"])
		mine[string(ref)] = m
	}
	var anc []any
	for _, ref := range refs {
		rj, _ := json.Marshal(ref)
		anc = append(anc, map[string]any{"ancestorRef": ref, "controllerName": ctl, "conditions": conds(oldConds(mine[string(rj)]))})
	}
	if len(anc) == 0 && len(mine) == 0 {
		return nil
	}
	all := append(keep, anc...)
	if len(all) > 16 {
		all = all[:16]
	}
	if all == nil {
		all = []any{}
	}
	return map[string]any{"ancestors": all}
}
