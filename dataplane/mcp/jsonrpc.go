package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
)

// JSON-RPC and MCP error codes the gateway answers with.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeInternalError  = -32603
	// codeServerError is what MCP servers use for transport-level refusals (no session, bad header).
	codeServerError = -32000
	// codeSessionNotFound is the code the TypeScript and Go SDKs use with HTTP 404.
	codeSessionNotFound = -32001
	// codeUpstreamUnavailable is the gateway's code for a target that cannot be reached or failed mid-call.
	codeUpstreamUnavailable = -32003
	// codeHeaderMismatch, codeMissingCapability and codeUnsupportedVersion are the 2026-07-28 codes.
	codeHeaderMismatch     = -32020
	codeUnsupportedVersion = -32022
)

// message is one JSON-RPC 2.0 message. Only the fields the gateway routes on are decoded;
// params and result stay raw and are passed through untouched unless a rewrite needs them.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// rpcError is a JSON-RPC error object (one writer for the dataplane: dataplane/apierror).
type rpcError = apierror.RPCError

// kind tells requests, notifications and responses apart.
type kind int

const (
	kindInvalid kind = iota
	kindRequest
	kindNotification
	kindResponse
)

func (m *message) kind() kind {
	hasID := len(m.ID) > 0 && !bytes.Equal(m.ID, []byte("null"))
	switch {
	case m.Method != "" && hasID:
		return kindRequest
	case m.Method != "":
		return kindNotification
	case hasID && (m.Result != nil || m.Error != nil):
		return kindResponse
	}
	return kindInvalid
}

var errBatch = errors.New("JSON-RPC batches are not supported (removed in MCP 2025-06-18)")

// clientMessage is what the gateway reads of a client's message, in one strict pass: the
// envelope it dispatches on, and the params members it routes, authorizes, renames or
// negotiates on. Their case variants are refused (encoding/json would read them, an MCP server
// would not), as are duplicate keys anywhere, so the target reads what the gateway checked.
var (
	clientMessage = jsonstrict.NewSchema()
	slotJSONRPC   = clientMessage.Capture("jsonrpc")
	slotID        = clientMessage.Capture("id")
	slotMethod    = clientMessage.Capture("method")
	slotParams    = clientMessage.Capture("params")
	slotResult    = clientMessage.Capture("result")
	slotError     = clientMessage.Capture("error")
)

func init() {
	for _, path := range [][]string{
		{"params", "name"}, {"params", "uri"}, {"params", "protocolVersion"},
		{"params", "ref", "type"}, {"params", "ref", "name"}, {"params", "ref", "uri"},
		{"params", "_meta", "io.modelcontextprotocol/protocolVersion"},
		{"error", "code"}, {"error", "message"}, {"error", "data"},
	} {
		clientMessage.Known(path...)
	}
}

// parseMessage decodes one JSON-RPC message and checks its envelope.
func parseMessage(body []byte) (*message, *rpcError) {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 {
		return nil, &rpcError{Code: codeParseError, Message: "Parse error: empty body"}
	}
	if b[0] == '[' {
		return nil, &rpcError{Code: codeInvalidRequest, Message: errBatch.Error()}
	}
	var v [6]jsonstrict.Value
	if err := clientMessage.Read(b, v[:]); err != nil {
		var se *jsonstrict.Error
		if errors.As(err, &se) && se.Key {
			return nil, &rpcError{Code: codeInvalidRequest, Message: "Invalid Request: " + err.Error()}
		}
		return nil, &rpcError{Code: codeParseError, Message: "Parse error: " + err.Error()}
	}
	if b[0] != '{' {
		return nil, &rpcError{Code: codeInvalidRequest, Message: "Invalid Request: a message must be a JSON object"}
	}
	if !v[slotJSONRPC].Equal("2.0") {
		return nil, &rpcError{Code: codeInvalidRequest, Message: `Invalid Request: "jsonrpc" must be "2.0"`}
	}
	m := message{JSONRPC: "2.0", ID: json.RawMessage(v[slotID]), Params: json.RawMessage(v[slotParams]), Result: json.RawMessage(v[slotResult])}
	if mv := v[slotMethod]; mv.Kind() != jsonstrict.Absent && mv.Kind() != jsonstrict.Null {
		var ok bool
		if m.Method, ok = mv.Str(); !ok {
			return nil, &rpcError{Code: codeInvalidRequest, Message: "Invalid Request: method must be a string"}
		}
	}
	if ev := v[slotError]; ev.Kind() != jsonstrict.Absent && ev.Kind() != jsonstrict.Null {
		m.Error = &rpcError{}
		if err := json.Unmarshal(ev, m.Error); err != nil {
			return nil, &rpcError{Code: codeInvalidRequest, Message: "Invalid Request: error must be a JSON-RPC error object"}
		}
	}
	if len(m.ID) > 0 && !validID(m.ID) {
		return nil, &rpcError{Code: codeInvalidRequest, Message: "Invalid Request: id must be a string or an integer"}
	}
	if m.kind() == kindInvalid {
		return nil, &rpcError{Code: codeInvalidRequest, Message: "Invalid Request: neither a request, a notification nor a response"}
	}
	if bytes.Equal(m.Params, []byte("null")) {
		m.Params = nil
	}
	if len(m.Params) > 0 && m.Params[0] != '{' {
		// MCP params are always objects; positional params are not used by any method.
		return nil, &rpcError{Code: codeInvalidParams, Message: "Invalid params: params must be an object"}
	}
	return &m, nil
}

func validID(id json.RawMessage) bool {
	if bytes.Equal(id, []byte("null")) {
		return true
	}
	if id[0] == '"' {
		var s string
		return json.Unmarshal(id, &s) == nil
	}
	_, err := strconv.ParseInt(string(id), 10, 64)
	return err == nil
}

// response builds the encoded JSON-RPC response for id with result.
func encodeResult(id json.RawMessage, result any) ([]byte, error) {
	r, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return json.Marshal(message{JSONRPC: "2.0", ID: id, Result: r})
}

func encodeError(id json.RawMessage, e *rpcError) []byte { return apierror.EncodeRPC(id, e) }

// writeRPCError answers with a JSON-RPC error body and the given HTTP status.
func writeRPCError(w http.ResponseWriter, status int, id json.RawMessage, e *rpcError) {
	apierror.WriteRPC(w, status, id, e)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
