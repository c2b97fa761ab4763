package gemini

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/llm"
)

// upstreamError maps a Google API error response ({"error":{"code","message","status"}}) to
// the OpenAI error the client receives, keeping the HTTP status; an invalid API key, which
// Google answers with 400 INVALID_ARGUMENT and reason API_KEY_INVALID, is a 401.
func upstreamError(status int, header http.Header, body []byte) *apierror.Error {
	var env struct {
		Error *googleError `json:"error"`
	}
	// Some Google front ends answer a list of one error.
	if trimmed := strings.TrimSpace(string(body)); strings.HasPrefix(trimmed, "[") {
		var list []struct {
			Error *googleError `json:"error"`
		}
		if json.Unmarshal(body, &list) == nil && len(list) == 1 {
			env.Error = list[0].Error
		}
	} else if json.Unmarshal(body, &env) != nil {
		env.Error = nil
	}
	if env.Error == nil || (env.Error.Message == "" && env.Error.Status == "") {
		return &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response",
			Message:    fmt.Sprintf("upstream returned HTTP %d with a non-JSON body: %s", status, llm.Truncate(body, 256)),
			RetryAfter: header.Get("Retry-After")}
	}
	e := googleErrorToOpenAI(status, env.Error)
	e.RetryAfter = header.Get("Retry-After")
	return e
}

// googleErrorToOpenAI maps a Google error to an OpenAI error with HTTP status status (kept
// when it is an error status, else 502), typed by the canonical status.
func googleErrorToOpenAI(status int, g *googleError) *apierror.Error {
	e := &apierror.Error{Status: status, Message: g.Message, Code: g.Status}
	if e.Status < 400 || e.Status > 599 {
		e.Status = http.StatusBadGateway
	}
	switch g.Status {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		e.Type = apierror.ErrInvalidRequest
		for _, d := range g.Details {
			if d.Reason == "API_KEY_INVALID" {
				e.Status, e.Type, e.Code = http.StatusUnauthorized, apierror.ErrAuthentication, "invalid_api_key"
			}
		}
	case "UNAUTHENTICATED":
		e.Type = apierror.ErrAuthentication
	case "PERMISSION_DENIED":
		e.Type = apierror.ErrPermission
	case "NOT_FOUND":
		e.Type = apierror.ErrInvalidRequest
		if strings.Contains(strings.ToLower(g.Message), "model") {
			e.Code = "model_not_found"
		}
	case "RESOURCE_EXHAUSTED":
		e.Type = apierror.ErrRateLimit
	case "DEADLINE_EXCEEDED":
		e.Type = apierror.ErrTimeout
	default: // INTERNAL, UNAVAILABLE, UNKNOWN, future statuses
		e.Type = apierror.ErrServer
		if e.Status < 500 {
			e.Type = apierror.ErrInvalidRequest
		}
	}
	if e.Message == "" {
		e.Message = "upstream error: " + g.Status
	}
	return e
}
