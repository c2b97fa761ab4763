package gateway

import (
	"regexp"
	"time"
)

// Config is the compiled runtime model. It is never modified after Compile returns: a reload
// compiles a new one.
type Config struct {
	// Listeners are the HTTP listeners of every Gateway, in input order.
	Listeners []*Listener
	// Routes are the compiled HTTPRoutes attached to at least one listener, in precedence
	// order of their creation (oldest first, then namespace/name).
	Routes []*Route
	// Backends holds every backend a route refers to, keyed by Backend.ID.
	Backends map[string]*Backend
	// Tracing is the frontend.tracing of a policy on a Gateway, if any.
	Tracing *Tracing
	// Outcome is what Compile decided about each object, for status (see Outcome).
	Outcome *Outcome `json:"-"`
}

// NamespacedName names a namespaced object.
type NamespacedName struct {
	Namespace, Name string
}

func (n NamespacedName) String() string { return n.Namespace + "/" + n.Name }

// Listener is one listener of a Gateway.
type Listener struct {
	Gateway  NamespacedName
	Name     string
	Port     int32
	Protocol string // HTTP or HTTPS
	// Hostname is the listener's hostname ("" for any, "*.example.com" for a wildcard).
	Hostname string
	// Policy is the traffic policy attached to the Gateway and this listener, merged.
	Policy *TrafficPolicy
	// PreRouting is the merged traffic policy of phase PreRouting, run before routing.
	PreRouting *TrafficPolicy
	// TLS is set on HTTPS listeners: the certificates and options of TLS termination.
	TLS *ListenerTLS `json:",omitempty"`
}

// ID is gateway-namespace/gateway-name/listener-name.
func (l *Listener) ID() string { return l.Gateway.String() + "/" + l.Name }

// Route is one HTTPRoute.
type Route struct {
	NamespacedName
	// Created is metadata.creationTimestamp (zero when absent); older routes win precedence ties.
	Created time.Time
	// Attachments are the listeners the route attached to, with the hostnames it serves on each.
	Attachments []Attachment
	Rules       []*Rule
}

// ID is namespace/name.
func (r *Route) ID() string { return r.NamespacedName.String() }

// Attachment is a route attached to a listener, with the intersection of the route's and the
// listener's hostnames (empty means any host).
type Attachment struct {
	Listener  *Listener
	Hostnames []string
}

// Rule is one rule of an HTTPRoute.
type Rule struct {
	Index int
	Name  string // spec.rules[].name, may be empty
	// Matches are the rule's matches; a rule without matches has one PathPrefix "/" match.
	Matches     []Match
	Filters     Filters
	Timeouts    Timeouts
	BackendRefs []BackendRef
	// Policy is the route- and rule-level traffic policy, merged field by field (rule wins).
	// The effective policy is MergeTraffic(attachment.Listener.Policy, Policy).
	Policy *TrafficPolicy
}

// PathType is how a path is matched.
type PathType string

// Path match types.
const (
	PathExact  PathType = "Exact"
	PathPrefix PathType = "PathPrefix"
	PathRegex  PathType = "RegularExpression"
)

// MatchType is how a header or query value is matched.
type MatchType string

// Value match types.
const (
	MatchExact MatchType = "Exact"
	MatchRegex MatchType = "RegularExpression"
)

// Match is one compiled HTTPRouteMatch: every condition must hold.
type Match struct {
	Path        PathMatch
	Headers     []ValueMatch
	QueryParams []ValueMatch
	Method      string // "" for any
}

// PathMatch matches the request path.
type PathMatch struct {
	Type  PathType
	Value string
	// Regexp is the anchored regular expression for PathRegex.
	Regexp *regexp.Regexp `json:"-"`
}

// ValueMatch matches one header (Name in canonical form) or query parameter (Name as written).
type ValueMatch struct {
	Name   string
	Type   MatchType
	Value  string
	Regexp *regexp.Regexp `json:"-"` // anchored, for MatchRegex
}

// Filters are the HTTPRoute filters the dataplane applies.
type Filters struct {
	RequestHeaders  *HeaderModifier
	ResponseHeaders *HeaderModifier
	// Redirect answers with a redirect instead of calling a backend.
	Redirect *Redirect
	// Rewrite changes the hostname or path before the backend sees the request.
	Rewrite *Rewrite
	// CORS answers preflight requests and adds CORS headers to responses.
	CORS *CORS
}

// Empty reports whether no filter is set.
func (f Filters) Empty() bool {
	return f.RequestHeaders == nil && f.ResponseHeaders == nil && f.Redirect == nil && f.Rewrite == nil && f.CORS == nil
}

// CORS is an HTTPRoute CORS filter.
type CORS struct {
	// AllowOrigins are "*", exact origins (https://app.example.com) or wildcard hosts
	// (https://*.example.com); lower case.
	AllowOrigins     []string
	AllowCredentials bool
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	// MaxAge is how long a preflight result may be cached, in seconds (default 5).
	MaxAge int64
}

// Header is a header name (canonical) and value.
type Header struct {
	Name, Value string
}

// HeaderModifier sets, adds and removes headers, in that order.
type HeaderModifier struct {
	Set    []Header
	Add    []Header
	Remove []string // canonical names
}

// Redirect is a RequestRedirect filter.
type Redirect struct {
	Scheme     string // "" keeps the request's
	Hostname   string // "" keeps the request's
	Port       int32  // 0 keeps or derives from the scheme
	Path       *PathModifier
	StatusCode int // 301 or 302 (default 302)
}

// Rewrite is a URLRewrite filter.
type Rewrite struct {
	Hostname string
	Path     *PathModifier
}

// PathModifier replaces the full path or the matched prefix.
type PathModifier struct {
	// Full replaces the whole path; Prefix replaces the matched PathPrefix. Exactly one is set
	// (an empty ReplacePrefixMatch is Prefix "/" after compile).
	Full   *string
	Prefix *string
}

// Timeouts are HTTPRoute rule timeouts; zero means none.
type Timeouts struct {
	// Request bounds the whole request, from the gateway receiving it to the response being
	// complete. Backend bounds one call to the backend.
	Request, Backend time.Duration
}

// BackendRef is a weighted reference from a rule to a backend.
type BackendRef struct {
	Weight int32
	// Backend is nil when the reference could not be resolved; requests picking it get 500.
	Backend *Backend
	// Invalid says why Backend is nil.
	Invalid string
	// Filters are the backendRef-level filters (header modifiers).
	Filters Filters
}
