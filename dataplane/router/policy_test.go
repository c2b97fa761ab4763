package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/gateway"
)

func TestCompose(t *testing.T) {
	var order []string
	stage := func(name string) PolicyBuilder {
		return func(p *gateway.TrafficPolicy) (Middleware, error) {
			return func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					order = append(order, name)
					next.ServeHTTP(w, r)
				})
			}, nil
		}
	}
	final := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { order = append(order, "backend") })
	p := &gateway.TrafficPolicy{JWT: &gateway.JWTAuthentication{}, RateLimit: &gateway.RateLimit{}, Sources: []gateway.NamespacedName{{Namespace: "ns", Name: "p"}}}

	mw, err := Compose(Stages{JWT: stage("jwt"), RateLimit: stage("ratelimit"), Transformation: stage("transformation")})(p)
	if err != nil {
		t.Fatal(err)
	}
	mw(final).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if strings.Join(order, ",") != "jwt,ratelimit,backend" {
		t.Fatalf("order = %v", order)
	}

	// A set field without a stage fails closed, naming the field.
	order = nil
	mw, _ = Compose(Stages{RateLimit: stage("ratelimit")})(p)
	w := httptest.NewRecorder()
	mw(final).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 501 || !strings.Contains(w.Body.String(), "traffic.jwtAuthentication") || len(order) != 0 {
		t.Fatalf("got %d %s, ran %v", w.Code, w.Body, order)
	}
}
