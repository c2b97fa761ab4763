package pool

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
)

// MaxBodyRoutingBytes is the largest body BodyRouting reads; larger bodies get 413.
const MaxBodyRoutingBytes = 32 << 20

// BodyRouting returns middleware that runs before route matching, as GIE's body-based router:
// for a JSON request body with a string "model", it sets X-Gateway-Model-Name to it and
// X-Gateway-Base-Model-Name to its base model through baseModels: a model (typically a LoRA
// adapter) maps to its base, a model that is a value of the map is its own base, any other model
// gets no base header. Client-sent values of both headers are always
// removed so they cannot steer routing. The body is passed on unchanged (Content-Length kept).
func BodyRouting(baseModels map[string]string) func(http.Handler) http.Handler {
	const limit = MaxBodyRoutingBytes
	bases := make(map[string]string, len(baseModels)*2)
	for _, b := range baseModels {
		bases[b] = b
	}
	for m, b := range baseModels {
		bases[m] = b
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Del(HeaderModelName)
			r.Header.Del(HeaderBaseModelName)
			if !hasBody(r) || !isJSON(r.Header.Get("Content-Type")) {
				next.ServeHTTP(w, r)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			_ = r.Body.Close()
			if err != nil {
				apierror.Write(w, &apierror.Error{Status: http.StatusBadRequest, Type: apierror.ErrInvalidRequest, Message: fmt.Sprintf("read request body: %v", err)})
				return
			}
			if int64(len(body)) > limit {
				apierror.Write(w, &apierror.Error{Status: http.StatusRequestEntityTooLarge, Type: apierror.ErrInvalidRequest, Message: fmt.Sprintf("request body exceeds %d bytes", limit)})
				return
			}
			// The model is read by exact key from a body without duplicate or case-colliding keys,
			// so the model routed on is the one the model server reads. A body declared as JSON
			// that is not is refused too; one without a content type routes without a model.
			if err := jsonstrict.Check(body); err != nil {
				if se := (*jsonstrict.Error)(nil); errors.As(err, &se) && se.Key || r.Header.Get("Content-Type") != "" {
					apierror.Write(w, apierror.Body(err))
					return
				}
			} else if m, _ := jsonstrict.Lookup(body, "model").Str(); m != "" {
				r.Header.Set(HeaderModelName, m)
				if b := bases[m]; b != "" {
					r.Header.Set(HeaderBaseModelName, b)
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Set("Content-Length", strconv.Itoa(len(body)))
			next.ServeHTTP(w, r)
		})
	}
}

// isJSON accepts an absent content type too: OpenAI clients always send JSON and some omit it.
func isJSON(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
