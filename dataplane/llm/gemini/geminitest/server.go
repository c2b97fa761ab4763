// Package geminitest is a fake Gemini API (models.generateContent and
// streamGenerateContent?alt=sse) for tests: it decodes every request strictly into the official
// Go SDK's types (google.golang.org/genai, unknown fields refused), checks the rules the types
// cannot express, and replays replies of the published shape, including errors and streams
// that break or hang until cancelled.
package geminitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"

	"google.golang.org/genai"

	"github.com/infergw/gwctl/dataplane/llm/llmtest"
)

// Reply is one answer of the fake.
type Reply = llmtest.Reply

// GenerateContentRequest is the body of models.generateContent and streamGenerateContent,
// assembled from the SDK's types (the SDK builds it as a map, so it has no type of its own).
type GenerateContentRequest struct {
	Contents          []*genai.Content        `json:"contents"`
	SystemInstruction *genai.Content          `json:"systemInstruction,omitempty"`
	Tools             []*genai.Tool           `json:"tools,omitempty"`
	ToolConfig        *genai.ToolConfig       `json:"toolConfig,omitempty"`
	SafetySettings    []*genai.SafetySetting  `json:"safetySettings,omitempty"`
	GenerationConfig  *genai.GenerationConfig `json:"generationConfig,omitempty"`
	CachedContent     string                  `json:"cachedContent,omitempty"`
}

// Request is a request the fake received and accepted.
type Request struct {
	Path, Query string
	Model       string // from the path
	Stream      bool
	Header      http.Header
	Body        []byte
	Decoded     GenerateContentRequest
}

// Server is the fake upstream. Requests to <prefix>/models/<model>:generateContent or
// :streamGenerateContent?alt=sse are checked and answered from the queue (Push) or by Default
// (StreamDefault for streams); POST <prefix>/chat/completions answers ChatReply unchecked, so the
// OpenAI passthrough can be measured against the same server. Only accepted requests are
// recorded; Rejections says why the others were refused.
type Server struct {
	*llmtest.Fake[Request]
	// Key is the API key the fake expects in x-goog-api-key.
	Key string

	mu         sync.Mutex
	rejections []string
}

// New starts a fake on 127.0.0.1 expecting key; it is closed in t.Cleanup.
func New(t testing.TB, key string) *Server {
	t.Helper()
	s := &Server{Key: key, Fake: llmtest.NewFake[Request](llmtest.Shape{JSONType: "application/json; charset=UTF-8"},
		Reply{Body: []byte(DefaultResponse)}, Reply{SSE: true, Body: []byte(DefaultStream)})}
	s.Start(t, "geminitest", http.HandlerFunc(s.serve))
	return s
}

// DefaultResponse and DefaultStream answer when nothing was pushed (shape of the API reference's
// examples: candidates, usageMetadata with prompt details, modelVersion, responseId).
const (
	DefaultResponse = `{"candidates":[{"content":{"parts":[{"text":"Hello!"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":2,"totalTokenCount":10,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]},"modelVersion":"gemini-2.5-flash","responseId":"resp-default"}`
	DefaultStream   = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 8},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"resp-stream\"}\r\n\r\n" +
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo!\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"candidatesTokenCount\": 2,\"totalTokenCount\": 10},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"resp-stream\"}\r\n\r\n"
)

// SetDefault sets the replies used when the queue is empty (json for generateContent, stream
// for streamGenerateContent).
func (s *Server) SetDefault(json, stream Reply) { s.SetDefaults(json, stream) }

// Rejections returns why requests were refused (a test that expects none checks it is empty).
func (s *Server) Rejections() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejections...)
}

var generatePath = regexp.MustCompile(`/models/([^/:]+):(generateContent|streamGenerateContent)$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "read error")
		return
	}
	if s.ServeChat(w, r) {
		return
	}
	req, status, reason := s.check(r, body, !s.Checking())
	if reason != "" {
		s.mu.Lock()
		s.rejections = append(s.rejections, reason)
		s.mu.Unlock()
		writeError(w, status, map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 405: "INVALID_ARGUMENT"}[status], reason)
		return
	}
	reply := s.Next(req.Stream)
	s.Record(func() Request { req.Header = r.Header.Clone(); return req })
	s.Write(w, r, reply)
}

// check validates a generate request: method, path, query, credentials, and the body decoded
// strictly into the SDK's types plus the rules the types cannot express.
func (s *Server) check(r *http.Request, body []byte, noCheck bool) (Request, int, string) {
	req := Request{Path: r.URL.Path, Query: r.URL.RawQuery, Body: body} // Header: when recorded
	if r.Method != http.MethodPost {
		return req, http.StatusMethodNotAllowed, "use POST"
	}
	m := generatePath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return req, http.StatusNotFound, "unknown path " + r.URL.Path
	}
	req.Model, req.Stream = m[1], m[2] == "streamGenerateContent"
	if noCheck {
		return req, 0, ""
	}
	if req.Stream && r.URL.RawQuery != "alt=sse" || !req.Stream && r.URL.RawQuery != "" {
		return req, http.StatusBadRequest, "query must be alt=sse for streamGenerateContent and empty otherwise, got " + r.URL.RawQuery
	}
	if r.URL.Query().Has("key") || r.Header.Get("Authorization") != "" {
		return req, http.StatusBadRequest, "the key goes in x-goog-api-key only"
	}
	if got := r.Header.Get("X-Goog-Api-Key"); got != s.Key {
		return req, http.StatusUnauthorized, "x-goog-api-key is missing or wrong"
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return req, http.StatusBadRequest, "content-type must be application/json, got " + ct
	}
	if err := Decode(body, &req.Decoded); err != nil {
		return req, http.StatusBadRequest, err.Error()
	}
	return req, 0, ""
}

// Decode decodes a request body strictly into the SDK's types (unknown fields and trailing data
// refused) and checks what the types cannot express.
func Decode(body []byte, out *GenerateContentRequest) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("request body does not decode into the SDK's types: %w", err)
	}
	if dec.More() {
		return errors.New("trailing data after the request body")
	}
	return Check(out)
}

// Check applies the rules of the published API that the SDK's types cannot express.
func Check(r *GenerateContentRequest) error {
	if len(r.Contents) == 0 {
		return errors.New("contents is required")
	}
	if si := r.SystemInstruction; si != nil {
		if err := checkParts("systemInstruction", si.Parts); err != nil {
			return err
		}
		for i, p := range si.Parts {
			if p.Text == "" {
				return fmt.Errorf("systemInstruction.parts[%d]: only text parts", i)
			}
		}
	}
	for i, c := range r.Contents {
		where := fmt.Sprintf("contents[%d]", i)
		if c.Role != genai.RoleUser && c.Role != genai.RoleModel {
			return fmt.Errorf("%s.role %q: must be user or model", where, c.Role)
		}
		if err := checkParts(where, c.Parts); err != nil {
			return err
		}
		for j, p := range c.Parts {
			if p.FunctionCall != nil && c.Role != genai.RoleModel || p.FunctionResponse != nil && c.Role != genai.RoleUser {
				return fmt.Errorf("%s.parts[%d]: functionCall only in model turns, functionResponse only in user turns", where, j)
			}
		}
	}
	for i, t := range r.Tools {
		for j, d := range t.FunctionDeclarations {
			if d.Name == "" {
				return fmt.Errorf("tools[%d].functionDeclarations[%d]: name is required", i, j)
			}
			if d.Parameters != nil && d.ParametersJsonSchema != nil {
				return fmt.Errorf("tools[%d].functionDeclarations[%d]: parameters and parametersJsonSchema are exclusive", i, j)
			}
		}
	}
	if tc := r.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		switch tc.FunctionCallingConfig.Mode {
		case genai.FunctionCallingConfigModeAuto, genai.FunctionCallingConfigModeNone, genai.FunctionCallingConfigModeAny, genai.FunctionCallingConfigModeValidated:
		default:
			return fmt.Errorf("toolConfig.functionCallingConfig.mode %q", tc.FunctionCallingConfig.Mode)
		}
		if len(tc.FunctionCallingConfig.AllowedFunctionNames) > 0 && tc.FunctionCallingConfig.Mode != genai.FunctionCallingConfigModeAny {
			return errors.New("allowedFunctionNames needs mode ANY")
		}
	}
	if gc := r.GenerationConfig; gc != nil {
		if gc.CandidateCount < 0 || gc.CandidateCount > 8 || len(gc.StopSequences) > 5 {
			return errors.New("generationConfig: candidateCount 1–8, at most 5 stopSequences")
		}
		if gc.ResponseSchema != nil && gc.ResponseJsonSchema != nil {
			return errors.New("generationConfig: responseSchema and responseJsonSchema are exclusive")
		}
		if (gc.ResponseSchema != nil || gc.ResponseJsonSchema != nil) && gc.ResponseMIMEType != "application/json" {
			return errors.New("generationConfig: a response schema needs responseMimeType application/json")
		}
		if tc := gc.ThinkingConfig; tc != nil && tc.ThinkingBudget != nil && tc.ThinkingLevel != "" {
			return errors.New("generationConfig.thinkingConfig: thinkingBudget and thinkingLevel are exclusive")
		}
	}
	return nil
}

// checkParts requires non-empty parts, each holding exactly one kind of data.
func checkParts(where string, parts []*genai.Part) error {
	if len(parts) == 0 {
		return fmt.Errorf("%s.parts must not be empty", where)
	}
	for j, p := range parts {
		n := 0
		for _, set := range []bool{p.Text != "", p.InlineData != nil, p.FileData != nil, p.FunctionCall != nil, p.FunctionResponse != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s.parts[%d] must hold exactly one of text, inlineData, fileData, functionCall, functionResponse (has %d)", where, j, n)
		}
		if d := p.InlineData; d != nil && (d.MIMEType == "" || len(d.Data) == 0) {
			return fmt.Errorf("%s.parts[%d].inlineData needs mimeType and data", where, j)
		}
		if f := p.FileData; f != nil && f.FileURI == "" {
			return fmt.Errorf("%s.parts[%d].fileData needs fileUri", where, j)
		}
		if f := p.FunctionResponse; f != nil && (f.Name == "" || f.Response == nil) {
			return fmt.Errorf("%s.parts[%d].functionResponse needs name and an object response", where, j)
		}
		if f := p.FunctionCall; f != nil && f.Name == "" {
			return fmt.Errorf("%s.parts[%d].functionCall needs a name", where, j)
		}
	}
	return nil
}

// writeError answers in Google's error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": code}})
	_, _ = w.Write(b)
}

// ErrorBody is a Google API error body.
func ErrorBody(code int, status, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
	return b
}
