package llm

import "context"

// RouteInfo names the route and backend a request was sent to. The router stores it in the
// request context with WithRoute before calling a provider handler; the handler labels its
// usage metrics and its Result with it.
type RouteInfo struct {
	Route   string // e.g. "default/chat" (HTTPRoute namespace/name, rule index if any)
	Backend string // e.g. "default/anthropic" (AgentgatewayBackend namespace/name)
}

type routeKey struct{}

// WithRoute returns a copy of ctx carrying info.
func WithRoute(ctx context.Context, info RouteInfo) context.Context {
	return context.WithValue(ctx, routeKey{}, info)
}

// RouteFromContext returns the RouteInfo stored by WithRoute, or the zero value.
func RouteFromContext(ctx context.Context) RouteInfo {
	info, _ := ctx.Value(routeKey{}).(RouteInfo)
	return info
}
