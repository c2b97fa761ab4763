// Package anthropictest is a fake Anthropic Messages API for tests: it checks every request
// it receives against Anthropic's published request schema (CreateMessageParams of the OpenAPI
// spec derived into testdata/) plus the rules the schema cannot express, and replays recorded or
// scripted replies, including errors, broken streams and streams that hang until cancelled.
package anthropictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/infergw/gwctl/internal/testenv"
)

// Reply is one answer of the fake upstream.
type Reply struct {
	Status int         // default 200
	Header http.Header // extra response headers
	Body   []byte      // a JSON body, or raw SSE when SSE is set
	SSE    bool        // serve Body as text/event-stream, flushing after every event
	// Hold keeps a streamed response open after Body until the client goes away; the
	// server then reports on Cancelled.
	Hold bool
}

// Request is a request the fake received.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
}

// Server is the fake upstream. Messages requests (POST <prefix>/messages) are validated and
// answered from the queue (Push) or, when it is empty, by Default. POST
// <prefix>/chat/completions answers ChatReply without validation, so a passthrough backend
// can be measured against the same server.
type Server struct {
	URL  string // base URL without path, e.g. http://127.0.0.1:PORT
	Host string
	Port int

	t         testing.TB
	srv       *httptest.Server
	schema    *jsonschema.Schema
	cancelled chan string

	mu        sync.Mutex
	queue     []Reply
	requests  []Request
	keep      bool
	noCheck   bool
	defReply  Reply
	chatReply Reply
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
	s := &Server{t: t, schema: schema, cancelled: make(chan string, 16), keep: true,
		defReply: Reply{Body: []byte(DefaultMessage)}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("anthropictest: listen: %v", err)
	}
	s.srv.Listener = l
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	s.Host = "127.0.0.1"
	s.Port = l.Addr().(*net.TCPAddr).Port
	return s
}

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

// Push queues replies for the next messages requests, in order.
func (s *Server) Push(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, r...)
}

// SetDefault sets the reply used when the queue is empty.
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defReply = r
}

// SetChatReply sets the reply of POST …/chat/completions (an OpenAI-shaped body or stream).
func (s *Server) SetChatReply(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatReply = r
}

// KeepRequests turns recording of received requests on or off (off for benchmarks).
func (s *Server) KeepRequests(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keep = on
}

// SkipValidation turns request validation off; only benchmarks should use it, so the cost of
// the schema check does not count against the backend measured.
func (s *Server) SkipValidation(skip bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noCheck = skip
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Cancelled receives the path of every held response whose client went away.
func (s *Server) Cancelled() <-chan string { return s.cancelled }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	body := buf.Bytes()
	s.mu.Lock()
	if s.keep {
		s.requests = append(s.requests, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	}
	var reply Reply
	isChat := strings.HasSuffix(r.URL.Path, "/chat/completions")
	switch {
	case isChat:
		reply = s.chatReply
	case len(s.queue) > 0:
		reply = s.queue[0]
		s.queue = s.queue[1:]
	default:
		reply = s.defReply
	}
	noCheck := s.noCheck
	s.mu.Unlock()

	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "use POST")
		return
	}
	if !isChat && !noCheck {
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
	s.write(w, r, reply)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, reply Reply) {
	for k, v := range reply.Header {
		w.Header()[k] = v
	}
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	if !reply.SSE {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(reply.Body)))
		w.WriteHeader(status)
		_, _ = w.Write(reply.Body)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	rest := reply.Body
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte("\n\n"))
		n := len(rest)
		if i >= 0 {
			n = i + 2
		}
		if _, err := w.Write(rest[:n]); err != nil {
			return
		}
		_ = rc.Flush()
		rest = rest[n:]
	}
	if reply.Hold {
		<-r.Context().Done()
		s.cancelled <- r.URL.Path
	}
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}, "request_id": "req_fake"})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
