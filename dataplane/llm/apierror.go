package llm

import (
	"fmt"
	"net/http"
	"strconv"
)

// OpenAI error types used in Error.Type.
const (
	ErrInvalidRequest = "invalid_request_error"
	ErrAuthentication = "authentication_error"
	ErrPermission     = "permission_error"
	ErrRateLimit      = "rate_limit_error"
	ErrQuota          = "insufficient_quota"
	ErrServer         = "server_error"
	ErrTimeout        = "timeout"
)

// Error is an error answered to an OpenAI client: {"error":{"message","type","param","code"}}.
// Empty Param and Code are rendered as null. Messages must never contain a secret or echo the
// request body.
type Error struct {
	Status     int
	Message    string
	Type       string
	Param      string
	Code       string
	RetryAfter string // copied to the Retry-After response header when set
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%d %s (param %s): %s", e.Status, e.Type, e.Param, e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message)
}

// InvalidRequest is a 400 invalid_request_error naming param.
func InvalidRequest(param, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: ErrInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// AppendJSON appends the OpenAI error body {"error":{...}} to b.
func (e *Error) AppendJSON(b []byte) []byte {
	b = append(b, `{"error":{"message":`...)
	b = appendJSONString(b, e.Message)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"param":`...)
	b = appendNullableString(b, e.Param)
	b = append(b, `,"code":`...)
	b = appendNullableString(b, e.Code)
	return append(b, `}}`...)
}

// WriteError answers e as JSON with its status (500 when unset).
func WriteError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter != "" {
		h.Set("Retry-After", e.RetryAfter)
	}
	body := e.AppendJSON(make([]byte, 0, 128+len(e.Message)))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

func appendJSONString(b []byte, s string) []byte { return AppendJSONString(b, s) }

// CredentialsError is the 500 answered when a backend's API key cannot be read. It names the
// Secret (secret, e.g. "ns/name", when known) but never a value; without a name it falls back
// to err's text, which key sources such as KeyFile keep free of secret values.
func CredentialsError(secret string, err error) *Error {
	msg := "backend credentials unavailable: "
	if secret != "" {
		msg += "secret " + secret + " (key Authorization) could not be read"
	} else {
		msg += err.Error()
	}
	return &Error{Status: http.StatusInternalServerError, Type: ErrServer, Code: "backend_credentials_unavailable", Message: msg}
}
