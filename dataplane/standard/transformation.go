package standard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/dataplane/router"
	"github.com/infergw/gwctl/pkg/gateway"
)

// maxTransformBody bounds the request body a body expression reads; a larger body gets 413.
const maxTransformBody = 32 << 20

// transformationStage applies traffic.transformation.request. pkg/gateway compiled each value
// into a string literal or a field of the JSON request body (json(request.body).model) and
// reported any other expression, so the stage only evaluates those two forms.
func transformationStage(p *gateway.TrafficPolicy) (router.Middleware, error) {
	t := p.Transformation
	set, add := t.Set, t.Add
	remove := t.Remove
	needsBody := false
	var fields []string
	for _, v := range append(append([]gateway.HeaderExpression{}, set...), add...) {
		switch {
		case v.BodyField != "":
			needsBody = true
			fields = append(fields, v.BodyField)
		case v.Literal == nil: // a TrafficPolicy not built by gateway.Compile
			return nil, fmt.Errorf("policy %v: transformation: header %s: expression %q is not compiled", p.Sources, v.Name, v.Expression)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body []byte
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
				body = b
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			if needsBody && r.Method == http.MethodPost && isModelAPIPath(r.URL.Path) {
				if e := checkModelRequest(r.Header.Get("Content-Type"), body, fields); e != nil {
					llm.WriteError(w, e)
					return
				}
			}
			for _, name := range remove {
				r.Header.Del(name)
			}
			for _, v := range set {
				if s, ok := eval(v, body); ok {
					r.Header.Set(v.Name, s)
				} else {
					r.Header.Del(v.Name)
				}
			}
			for _, v := range add {
				if s, ok := eval(v, body); ok {
					r.Header.Add(v.Name, s)
				}
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// eval computes the value; a body field that is absent or not a scalar yields no header, so a
// request without a model matches no model route (404) instead of a wrong one.
func eval(v gateway.HeaderExpression, body []byte) (string, bool) {
	if v.Literal != nil {
		return *v.Literal, true
	}
	if len(body) == 0 || !gjson.ValidBytes(body) {
		return "", false
	}
	r := gjson.GetBytes(body, v.BodyField)
	switch r.Type {
	case gjson.String, gjson.Number, gjson.True, gjson.False:
		return r.String(), true
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
// routing cannot read: a non-JSON content type, a body that is not a JSON object, or a routing
// field that is missing; otherwise such a request would match no route and get a misleading 404.
func checkModelRequest(contentType string, body []byte, fields []string) *llm.Error {
	mt, _, _ := strings.Cut(contentType, ";")
	if mt = strings.TrimSpace(strings.ToLower(mt)); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return llm.InvalidRequest("", "Content-Type must be application/json, not %q", mt)
	}
	if !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
		return llm.InvalidRequest("", "the request body is not a JSON object")
	}
	for _, f := range fields {
		if v := gjson.GetBytes(body, f); v.Type != gjson.String || v.Str == "" {
			return llm.InvalidRequest(f, "%s is required and must be a string", f)
		}
	}
	return nil
}
