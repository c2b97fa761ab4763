// Package apierror is the dataplane's one writer of errors in OpenAI's shape,
// {"error":{"message","type","param","code"}}, which every part that answers an OpenAI client uses.
package apierror

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/pkg/jsonvalue"
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

// Error is an error answered to an OpenAI client. As in OpenAI's API, param and code are a string
// or null: an empty Param or Code is written as null. Messages must never contain a secret or echo
// the request body.
type Error struct {
	Status     int // HTTP status; 0 is written as 500
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

// Body is the 400 answered for a request body the strict reader (jsonstrict) refuses. A refused
// key (a duplicate, or a key equal to another or to a member the gateway reads except for case) is
// named in param: the gateway and the upstream could read different values from it.
func Body(err error) *Error {
	var se *jsonstrict.Error
	if errors.As(err, &se) && se.Key {
		return InvalidRequest(se.Path, "the request body is ambiguous: %s", err)
	}
	return InvalidRequest("", "request body is not valid JSON: %s", err)
}

// AppendJSON appends the error body {"error":{...}} to b; it is also the payload of an error
// event in a stream, so it has no trailing newline and escapes no HTML.
func (e *Error) AppendJSON(b []byte) []byte {
	b = append(b, `{"error":{"message":`...)
	b = jsonvalue.AppendStringNoHTML(b, e.Message)
	b = append(b, `,"type":`...)
	b = jsonvalue.AppendStringNoHTML(b, e.Type)
	b = append(b, `,"param":`...)
	b = appendNullable(b, e.Param)
	b = append(b, `,"code":`...)
	b = appendNullable(b, e.Code)
	return append(b, `}}`...)
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return jsonvalue.AppendStringNoHTML(b, s)
}

// Write answers e as JSON with its status. Headers the caller set before (WWW-Authenticate,
// Allow, Cache-Control) are kept.
func Write(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	body := e.AppendJSON(make([]byte, 0, 128+len(e.Message)))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if e.RetryAfter != "" {
		h.Set("Retry-After", e.RetryAfter)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// RPCError is a JSON-RPC 2.0 error object, the error shape MCP clients parse.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("json-rpc error %d: %s", e.Code, e.Message) }

// EncodeRPC is the JSON-RPC response carrying e for the request id (null when id is empty: the
// request's id was not read or could not be).
func EncodeRPC(id json.RawMessage, e *RPCError) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   *RPCError       `json:"error"`
	}{"2.0", id, e})
	return b
}

// WriteRPC answers e as a JSON-RPC error body with the HTTP status.
func WriteRPC(w http.ResponseWriter, status int, id json.RawMessage, e *RPCError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(EncodeRPC(id, e))
}
