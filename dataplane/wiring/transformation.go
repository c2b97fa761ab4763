package wiring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/dataplane/router"
	"github.com/infergw/gwctl/pkg/gateway"
)

// maxTransformBody bounds the request body a body expression reads; a larger body gets 413.
const maxTransformBody = 32 << 20

// headerValue is how one header's value is computed.
type headerValue struct {
	name    string
	literal *string
	field   string   // the dotted path in the JSON body, as written
	path    []string // field split into exact keys (or array indexes)
}

// transformationStage applies traffic.transformation.request. agentgateway evaluates CEL;
// pkg/gateway compiled each value into one of the forms this dataplane supports (a field of the
// JSON request body, json(request.body).model, or a string literal) and reported any other
// expression as a finding, so the stage only evaluates those forms.
func transformationStage(p *gateway.TrafficPolicy) (router.Middleware, error) {
	t := p.Transformation
	var set, add []headerValue
	for _, list := range []struct {
		in  []gateway.HeaderExpression
		out *[]headerValue
	}{{t.Set, &set}, {t.Add, &add}} {
		for _, h := range list.in {
			v, err := headerValueOf(h)
			if err != nil {
				return nil, fmt.Errorf("policy %v: transformation: %w", p.Sources, err)
			}
			*list.out = append(*list.out, v)
		}
	}
	remove := t.Remove
	needsBody := false
	var fields []headerValue
	for _, v := range append(append([]headerValue{}, set...), add...) {
		if v.field != "" {
			needsBody = true
			fields = append(fields, v)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var doc jsonstrict.Value // the body when it is strict JSON, else nil
			var bodyErr error
			if needsBody && r.Body != nil && r.Body != http.NoBody {
				b, err := io.ReadAll(io.LimitReader(r.Body, maxTransformBody+1))
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) || len(b) > maxTransformBody {
					proxy.WriteError(w, http.StatusRequestEntityTooLarge, "request body too large")
					return
				}
				if err != nil {
					proxy.WriteError(w, http.StatusBadRequest, "the request body could not be read")
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(b))
				// The routing fields are read by exact key from a body without duplicate or
				// case-colliding keys: the value routed on is the value the backend reads.
				if bodyErr = jsonstrict.Check(b); bodyErr == nil {
					doc = jsonstrict.Lookup(b)
				}
			}
			modelAPI := needsBody && r.Method == http.MethodPost && isModelAPIPath(r.URL.Path)
			if se := (*jsonstrict.Error)(nil); errors.As(bodyErr, &se) && se.Key {
				if modelAPI {
					apierror.Write(w, apierror.Body(bodyErr))
				} else {
					proxy.WriteError(w, http.StatusBadRequest, "the request body is ambiguous: "+bodyErr.Error())
				}
				return
			}
			if modelAPI {
				if e := checkModelRequest(r.Header.Get("Content-Type"), doc, fields); e != nil {
					apierror.Write(w, e)
					return
				}
			}
			for _, name := range remove {
				r.Header.Del(name)
			}
			for _, v := range set {
				if s, ok := v.eval(doc); ok {
					r.Header.Set(v.name, s)
				} else {
					r.Header.Del(v.name)
				}
			}
			for _, v := range add {
				if s, ok := v.eval(doc); ok {
					r.Header.Add(v.name, s)
				}
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// headerValueOf takes a compiled transformation value; a TrafficPolicy not built by
// gateway.Compile may hold an expression that was never compiled, which fails the load.
func headerValueOf(h gateway.HeaderExpression) (headerValue, error) {
	switch {
	case h.BodyField != "":
		return headerValue{name: h.Name, field: h.BodyField, path: strings.Split(h.BodyField, ".")}, nil
	case h.Literal != nil:
		return headerValue{name: h.Name, literal: h.Literal}, nil
	}
	return headerValue{}, fmt.Errorf("header %s: expression %q is not compiled", h.Name, h.Expression)
}

// eval computes the value from the strictly checked body doc (nil when there is none or it is
// not strict JSON); a body field that is absent or not a scalar yields no header, so a request
// without a model matches no model route (404) instead of a wrong one. Numbers are written as
// gjson (which this replaced) wrote them.
func (v headerValue) eval(doc jsonstrict.Value) (string, bool) {
	if v.literal != nil {
		return *v.literal, true
	}
	f := doc.Lookup(v.path...)
	switch f.Kind() {
	case jsonstrict.String:
		return f.Str()
	case jsonstrict.Bool:
		return string(f), true
	case jsonstrict.Number:
		if _, err := f.Int64(); err == nil {
			return string(f), true
		}
		n, _ := f.Float64()
		return strconv.FormatFloat(n, 'f', -1, 64), true
	}
	return "", false
}

// isModelAPIPath reports whether a path is an OpenAI- or Anthropic-style model API call, whose
// body must be JSON naming the fields body-based routing reads.
func isModelAPIPath(path string) bool {
	for _, suffix := range []string{"/chat/completions", "/completions", "/messages", "/embeddings", "/responses"} {
		if strings.HasSuffix(path, suffix) {
			return true
		}
	}
	return false
}

// checkModelRequest refuses, in OpenAI's error shape, a model API request that body-based
// routing cannot read: a non-JSON content type, a body that is not a strict JSON object (doc is
// nil), or a routing field that is missing; otherwise such a request would match no route and
// get a misleading 404.
func checkModelRequest(contentType string, doc jsonstrict.Value, fields []headerValue) *apierror.Error {
	mt, _, _ := strings.Cut(contentType, ";")
	if mt = strings.TrimSpace(strings.ToLower(mt)); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return apierror.InvalidRequest("", "Content-Type must be application/json, not %q", mt)
	}
	if doc.Kind() != jsonstrict.Object {
		return apierror.InvalidRequest("", "the request body is not a JSON object")
	}
	for _, f := range fields {
		if s, ok := doc.Lookup(f.path...).Str(); !ok || s == "" {
			return apierror.InvalidRequest(f.field, "%s is required and must be a string", f.field)
		}
	}
	return nil
}
