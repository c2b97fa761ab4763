package anthropic

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// upstreamError maps an Anthropic error response (status and body) to the OpenAI error the
// client receives. 529 becomes 503; retry-after is kept.
func upstreamError(status int, header http.Header, body []byte) *apierror.Error {
	var env struct {
		Type  string    `json:"type"`
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil || env.Error.Type == "" {
		return &apierror.Error{
			Status:     http.StatusBadGateway,
			Type:       apierror.ErrServer,
			Code:       "bad_upstream_response",
			Message:    fmt.Sprintf("upstream returned HTTP %d with a non-JSON body: %s", status, truncate(body, 256)),
			RetryAfter: header.Get("Retry-After"),
		}
	}
	e := mapErrorType(env.Error.Type, env.Error.Message)
	e.Status = status
	if status == 529 || env.Error.Type == "overloaded_error" && status >= 500 {
		e.Status = http.StatusServiceUnavailable
	}
	if e.Status < 400 || e.Status > 599 {
		e.Status = http.StatusBadGateway
	}
	e.RetryAfter = header.Get("Retry-After")
	return e
}

// mapErrorType maps an Anthropic error type to an OpenAI error (status unset).
func mapErrorType(typ, msg string) *apierror.Error {
	e := &apierror.Error{Message: msg, Code: typ}
	switch typ {
	case "invalid_request_error", "request_too_large":
		e.Type = apierror.ErrInvalidRequest
	case "authentication_error":
		e.Type = apierror.ErrAuthentication
	case "permission_error":
		e.Type = apierror.ErrPermission
	case "not_found_error":
		e.Type = apierror.ErrInvalidRequest
		if strings.Contains(strings.ToLower(msg), "model") {
			e.Code = "model_not_found"
		}
	case "billing_error":
		e.Type = apierror.ErrQuota
	case "rate_limit_error":
		e.Type = apierror.ErrRateLimit
	case "timeout_error":
		e.Type = apierror.ErrTimeout
	default: // api_error, overloaded_error, future types
		e.Type = apierror.ErrServer
	}
	if e.Message == "" {
		e.Message = "upstream error: " + typ
	}
	return e
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return strings.TrimSpace(s)
}
