package router

import (
	"net/http"

	"github.com/infergw/gwctl/pkg/gateway"
)

// Stages are the builders of each traffic-policy field. Each is called only when its field is
// set and receives the whole merged policy; a nil stage for a field that is set fails closed
// (501) on the routes that carry it, so a policy is never silently skipped.
type Stages struct {
	// JWT enforces p.JWT (dataplane/policy/jwt).
	JWT PolicyBuilder
	// RateLimit enforces p.RateLimit (dataplane/policy/ratelimit).
	RateLimit PolicyBuilder
	// Transformation applies p.Transformation (CEL header expressions).
	Transformation PolicyBuilder
}

// Compose returns a PolicyBuilder that runs JWT, then rate limit, then transformation, then
// the wrapped handler, as agentgateway orders them.
func Compose(s Stages) PolicyBuilder {
	return func(p *gateway.TrafficPolicy) (Middleware, error) {
		var mws []Middleware
		for _, st := range []struct {
			set   bool
			build PolicyBuilder
			name  string
		}{
			{p.JWT != nil, s.JWT, "jwtAuthentication"},
			{p.RateLimit != nil, s.RateLimit, "rateLimit"},
			{p.Transformation != nil, s.Transformation, "transformation"},
		} {
			if !st.set {
				continue
			}
			if st.build == nil {
				h := notEnforcedField(p, st.name)
				mws = append(mws, func(http.Handler) http.Handler { return h })
				continue
			}
			mw, err := st.build(p)
			if err != nil {
				return nil, err
			}
			if mw != nil {
				mws = append(mws, mw)
			}
		}
		return func(h http.Handler) http.Handler {
			for i := len(mws) - 1; i >= 0; i-- {
				h = mws[i](h)
			}
			return h
		}, nil
	}
}

func notEnforcedField(p *gateway.TrafficPolicy, field string) http.Handler {
	return notEnforcedMsg(p, field)
}
