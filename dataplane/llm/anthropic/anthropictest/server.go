// Package anthropictest is a fake Anthropic Messages API for tests: it checks every request
// it receives against Anthropic's published request schema (CreateMessageParams of the OpenAPI
// spec derived into testdata/) plus the rules the schema cannot express, and replays recorded or
// scripted replies, including errors, broken streams and streams that hang until cancelled.
package anthropictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/infergw/gwctl/dataplane/llm/llmtest"
	"github.com/infergw/gwctl/internal/testenv"
)

// Reply is one answer of the fake upstream.
type Reply = llmtest.Reply

// Request is a request the fake received.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
}

// Server is the fake upstream. Messages requests (POST <prefix>/messages) are validated and
// answered from the queue (Push) or, when it is empty, by Default. POST
// <prefix>/chat/completions answers ChatReply without validation, so a passthrough backend
// can be measured against the same server. Every request is recorded, valid or not.
type Server struct {
	*llmtest.Fake[Request]

	t      testing.TB
	schema *jsonschema.Schema
}

// New starts a fake on 127.0.0.1 that validates request bodies with the CreateMessageParams
// schema of the Anthropic OpenAPI document at schemaPath (use SchemaPath). It is closed in
// t.Cleanup.
func New(t testing.TB, schemaPath string) *Server {
	t.Helper()
	schema, err := CompileSchema(schemaPath)
	if err != nil {
		t.Fatalf("anthropictest: %v", err)
	}
	def := Reply{Body: []byte(DefaultMessage)}
	s := &Server{t: t, schema: schema, Fake: llmtest.NewFake[Request](shape, def, def)}
	s.Start(t, "anthropictest", http.HandlerFunc(s.serve))
	return s
}

// shape is how Anthropic's API writes replies.
var shape = llmtest.Shape{JSONType: "application/json", ContentLength: true,
	StreamHeader: http.Header{"Cache-Control": {"no-cache"}}}

// DefaultMessage is the reply when nothing was pushed.
const DefaultMessage = `{"id":"msg_default","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3,"service_tier":"standard"}}`

// SchemaPath is the Anthropic OpenAPI document in the repository's testdata/ (derived by make
// testdata: the request schemas without their prose).
func SchemaPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), "testdata", "llm-apis", "anthropic", "openapi.json")
}

// CompileSchema compiles CreateMessageParams from Anthropic's OpenAPI 3.1 document.
func CompileSchema(path string) (*jsonschema.Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening Anthropic OpenAPI spec: %w", err)
	}
	defer f.Close()
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("file:///anthropic-openapi.json", f); err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	s, err := c.Compile("file:///anthropic-openapi.json#/components/schemas/CreateMessageParams")
	if err != nil {
		return nil, fmt.Errorf("compiling CreateMessageParams from %s: %w", path, err)
	}
	return s, nil
}

// SetDefault sets the reply used when the queue is empty.
func (s *Server) SetDefault(r Reply) { s.SetDefaults(r, r) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	body := buf.Bytes()
	s.Record(func() Request { return Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body} })
	if s.ServeChat(w, r) {
		return
	}
	reply := s.Next(false)
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "use POST")
		return
	}
	if s.Checking() {
		if !strings.HasSuffix(r.URL.Path, "/messages") {
			writeError(w, http.StatusNotFound, "not_found_error", "unknown path "+r.URL.Path)
			return
		}
		if err := s.Validate(r.Header, body); err != nil {
			s.t.Errorf("anthropictest: invalid request to %s: %v\nbody: %s", r.URL.Path, err, body)
			writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
			return
		}
	}
	s.Write(w, r, reply)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}, "request_id": "req_fake"})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
