package gateway

// Outcome is what Compile decided about each Gateway, HTTPRoute and InferencePool it read, in
// the Gateway API's terms (reasons as the spec names them), for the status a controller writes.
// gwctl validate ignores it; findings say the same for people.
type Outcome struct {
	Gateways map[NamespacedName]*GatewayOutcome
	Routes   map[NamespacedName]*RouteOutcome
	// Pools are the InferencePools routes refer to, with the Gateways of those routes.
	Pools map[NamespacedName]*PoolOutcome
	// Foreign are the Gateways of other controllers' classes (left alone).
	Foreign map[NamespacedName]bool
	// TLSPolicies are the BackendTLSPolicies, with the conditions the Gateway API defines.
	TLSPolicies map[NamespacedName]*TLSPolicyOutcome
}

// TLSPolicyOutcome is one BackendTLSPolicy: Accepted (Accepted, Invalid, NoValidCACertificate,
// Conflicted, TargetNotFound) and ResolvedRefs (ResolvedRefs, InvalidCACertificateRef,
// InvalidKind).
type TLSPolicyOutcome struct {
	Accepted, ResolvedRefs Condition
}

// Condition is one status condition's status, reason and message.
type Condition struct {
	OK      bool
	Reason  string
	Message string
}

// GatewayOutcome is one of our Gateways.
type GatewayOutcome struct {
	Listeners []*ListenerOutcome
	// InsecureFrontend is set when a served HTTPS listener validates client certificates in
	// mode AllowInsecureFallback (the InsecureFrontendValidationMode condition).
	InsecureFrontend bool
	// ResolvedRefs is false when spec.tls.backend.clientCertificateRef does not resolve
	// (InvalidClientCertificateRef, RefNotPermitted).
	ResolvedRefs Condition
}

// ListenerOutcome is one listener of a Gateway, in spec order.
type ListenerOutcome struct {
	Name     string
	Port     int32
	Hostname string
	// Accepted is false for a protocol the dataplane does not serve (UnsupportedProtocol).
	Accepted Condition
	// ResolvedRefs is false when allowedRoutes.kinds names no kind the dataplane serves
	// (InvalidRouteKinds), or a certificateRef does not resolve (InvalidCertificateRef,
	// RefNotPermitted).
	ResolvedRefs Condition
	// Conflicted, when its Reason is set (HostnameConflict, ProtocolConflict), says the
	// listener was left out for an earlier one on its port (Options.LeaveOutConflicts).
	Conflicted     Condition
	SupportedKinds []string
	AttachedRoutes int32
}

// RouteOutcome is one HTTPRoute: a parent for each parentRef to one of our Gateways.
type RouteOutcome struct {
	Parents []*ParentOutcome
	// ResolvedRefs is the first backendRef problem (BackendNotFound, RefNotPermitted,
	// InvalidKind), or OK; it applies to every parent.
	ResolvedRefs Condition
}

// ParentOutcome is a route's attachment to one parentRef.
type ParentOutcome struct {
	// Ref is the parentRef as written (group, kind, namespace, name, sectionName, port).
	Ref      map[string]any
	Gateway  NamespacedName
	Accepted Condition
}

// PoolOutcome is an InferencePool and the Gateways whose routes send to it.
type PoolOutcome struct {
	Parents []NamespacedName
}

func (c *compiler) outcomeOf(gw NamespacedName) *GatewayOutcome {
	g := c.out.Gateways[gw]
	if g == nil {
		g = &GatewayOutcome{ResolvedRefs: Condition{OK: true}}
		c.out.Gateways[gw] = g
	}
	return g
}

func (c *compiler) routeOutcome(r *Route) *RouteOutcome {
	ro := c.out.Routes[r.NamespacedName]
	if ro == nil {
		ro = &RouteOutcome{ResolvedRefs: Condition{OK: true, Reason: "ResolvedRefs"}}
		c.out.Routes[r.NamespacedName] = ro
	}
	return ro
}

// listenerOutcome records a listener as compiled (or refused, with why).
func (c *compiler) listenerOutcome(gw NamespacedName, name string, port int32, hostname string, accepted Condition, kinds []string) *ListenerOutcome {
	lo := &ListenerOutcome{Name: name, Port: port, Hostname: hostname, Accepted: accepted,
		ResolvedRefs: Condition{OK: true, Reason: "ResolvedRefs"}, SupportedKinds: []string{"HTTPRoute"}}
	if len(kinds) > 0 { // group/kind
		lo.SupportedKinds = []string{}
		for _, k := range kinds {
			if k == GroupGateway+"/HTTPRoute" {
				lo.SupportedKinds = []string{"HTTPRoute"}
			} else {
				lo.ResolvedRefs = Condition{Reason: "InvalidRouteKinds", Message: "allowedRoutes.kinds names " + k + ", which the dataplane does not serve (HTTPRoute only)"}
			}
		}
	}
	g := c.outcomeOf(gw)
	g.Listeners = append(g.Listeners, lo)
	return lo
}

// parentOutcome records a parentRef's result.
func (c *compiler) parentOutcome(r *Route, pf field, gw NamespacedName, accepted Condition) {
	ref, _ := pf.v.(map[string]any)
	ro := c.routeOutcome(r)
	ro.Parents = append(ro.Parents, &ParentOutcome{Ref: ref, Gateway: gw, Accepted: accepted})
}

// backendOutcome records the first unresolved backendRef of a route.
func (c *compiler) backendOutcome(r *Route, reason, msg string) {
	ro := c.routeOutcome(r)
	if ro.ResolvedRefs.OK {
		ro.ResolvedRefs = Condition{Reason: reason, Message: msg}
	}
}

// poolParents records the Gateways whose routes send to InferencePool ns/name.
func (c *compiler) poolParents(r *Route, pool NamespacedName) {
	po := c.out.Pools[pool]
	if po == nil {
		po = &PoolOutcome{}
		c.out.Pools[pool] = po
	}
	for _, a := range r.Attachments {
		gw := a.Listener.Gateway
		dup := false
		for _, p := range po.Parents {
			dup = dup || p == gw
		}
		if !dup {
			po.Parents = append(po.Parents, gw)
		}
	}
}
