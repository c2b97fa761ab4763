package vllmsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is one simulated vLLM instance. It is an http.Handler; Start serves it on a TCP
// address, Kill and Restart simulate the process dying and coming back on the same address.
type Server struct {
	cfg Config

	eng     atomic.Pointer[engine]
	shown   atomic.Pointer[exposition] // the last metrics reply, rendered
	faults  atomic.Pointer[Faults]
	started atomic.Int64 // unix nanos of the last (re)start, for StartupDelay
	reqID   atomic.Uint64

	errMu  sync.Mutex
	errRng *rand.Rand

	mu   sync.Mutex
	addr string
	srv  *http.Server
	mux  *http.ServeMux
}

// Stats are cumulative counters since the last start or ResetCache.
type Stats struct {
	Requests        int     // completion requests admitted to the queue
	PromptTokens    int     // prompt tokens of admitted requests
	CachedTokens    int     // of which served from the prefix cache
	GeneratedTokens int     // output tokens
	Waiting         int     // current queue
	Running         int     // current running sequences
	KVUsage         float64 // current fraction of KV blocks in use
}

// New builds a Server; it does not listen until Start.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, errRng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))}
	s.eng.Store(newEngine(&s.cfg))
	s.faults.Store(&Faults{})
	s.started.Store(time.Now().UnixNano())
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.complete(w, r, true) })
	s.mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.complete(w, r, false) })
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {})
	return s, nil
}

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() Config { return s.cfg }

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) { s.faults.Store(&f) }

// ResetCache empties the KV cache and counters; requests in flight finish on the old engine.
func (s *Server) ResetCache() { s.eng.Store(newEngine(&s.cfg)) }

// Stats reports the current engine counters.
func (s *Server) Stats() Stats {
	sn := s.eng.Load().snapshot()
	return Stats{
		Requests: int(sn.requests), PromptTokens: int(sn.promptTokens), CachedTokens: int(sn.cachedTokens),
		GeneratedTokens: int(sn.generated), Waiting: sn.waiting, Running: sn.running, KVUsage: sn.kvUsage,
	}
}

// ServeHTTP serves the OpenAI and metrics endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if wait := s.cfg.wall(s.cfg.StartupDelay) - time.Duration(time.Now().UnixNano()-s.started.Load()); wait > 0 {
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailableError", "model is loading")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Start listens on addr (for example "127.0.0.1:0") and serves in the background.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("vllmsim: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.addr, s.srv = ln.Addr().String(), srv
	s.mu.Unlock()
	s.started.Store(time.Now().UnixNano())
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Addr is the host:port the server listens on (kept across Kill so Restart reuses it).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Kill simulates the process dying: the listener and every connection close at once and the
// KV cache is lost.
func (s *Server) Kill() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	s.ResetCache()
}

// Restart serves again on the address used before Kill, with an empty cache and a fresh StartupDelay.
func (s *Server) Restart() error {
	addr := s.Addr()
	if addr == "" {
		return errors.New("vllmsim: restart before start")
	}
	s.ResetCache()
	return s.Start(addr)
}

// Close stops serving.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string  `json:"id"`
		Object  string  `json:"object"`
		Created int64   `json:"created"`
		OwnedBy string  `json:"owned_by"`
		Root    string  `json:"root"`
		Parent  *string `json:"parent"`
	}
	data := []model{{ID: s.cfg.Model, Object: "model", Created: nowUnix(), OwnedBy: "vllm", Root: s.cfg.Model}}
	for _, l := range s.cfg.LoRAs {
		base := s.cfg.Model
		data = append(data, model{ID: l, Object: "model", Created: nowUnix(), OwnedBy: "vllm", Root: l, Parent: &base})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

func (s *Server) injectError() bool {
	rate := s.faults.Load().ErrorRate
	if rate <= 0 {
		return false
	}
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.errRng.Float64() < rate
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request, chat bool) {
	var req completionRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", "invalid JSON body: "+err.Error())
		return
	}
	adapter := ""
	switch {
	case req.Model == s.cfg.Model:
	case slices.Contains(s.cfg.LoRAs, req.Model):
		adapter = req.Model
	default:
		writeError(w, http.StatusNotFound, "NotFoundError", fmt.Sprintf("The model `%s` does not exist.", req.Model))
		return
	}
	prompt, err := req.promptText(chat)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", err.Error())
		return
	}
	maxTokens := s.cfg.DefaultMaxTokens
	if req.MaxCompletionTokens != nil {
		maxTokens = *req.MaxCompletionTokens
	} else if req.MaxTokens != nil {
		maxTokens = *req.MaxTokens
	}
	if maxTokens < 1 {
		writeError(w, http.StatusBadRequest, "BadRequestError", "max_tokens must be at least 1")
		return
	}
	if s.injectError() {
		writeError(w, http.StatusInternalServerError, "InternalServerError", "injected fault")
		return
	}
	eng := s.eng.Load()
	sq, err := eng.newSeq(s.cfg.Model, adapter, prompt, maxTokens)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", err.Error())
		return
	}
	id := s.reqID.Add(1)
	rng := rand.New(rand.NewPCG(s.cfg.Seed, id))
	object, prefix := "text_completion", "cmpl-"
	if chat {
		object, prefix = "chat.completion", "chatcmpl-"
	}
	respID := fmt.Sprintf("%s%d", prefix, id)
	created := nowUnix()

	if !req.Stream {
		var text strings.Builder
		gen, err := eng.run(r.Context(), sq, func(n int, _ bool) error { text.WriteString(words(rng, n)); return nil })
		if err != nil {
			return // client went away
		}
		u := s.usage(sq, gen)
		choice := map[string]any{"index": 0, "finish_reason": "length", "logprobs": nil}
		if chat {
			choice["message"] = map[string]any{"role": "assistant", "content": text.String()}
		} else {
			choice["text"] = text.String()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": respID, "object": object, "created": created, "model": req.Model,
			"choices": []any{choice}, "usage": u,
		})
		return
	}

	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	chunkObject := object + ".chunk"
	if !chat {
		chunkObject = object
	}
	send := func(b []byte) error {
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	gen, err := eng.run(r.Context(), sq, func(n int, first bool) error {
		return send(chunkJSON(respID, chunkObject, req.Model, created, chat, words(rng, n), first, nil))
	})
	if err != nil {
		return
	}
	finish := "length"
	if err := send(chunkJSON(respID, chunkObject, req.Model, created, chat, "", false, &finish)); err != nil {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		b, _ := json.Marshal(map[string]any{
			"id": respID, "object": chunkObject, "created": created, "model": req.Model,
			"choices": []any{}, "usage": s.usage(sq, gen),
		})
		if err := send(b); err != nil {
			return
		}
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

func (s *Server) usage(sq *seq, generated int) usage {
	u := usage{PromptTokens: sq.promptTokens, CompletionTokens: generated, TotalTokens: sq.promptTokens + generated}
	u.PromptTokensDetails.CachedTokens = sq.cachedTokens
	return u
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	f := s.faults.Load()
	if f.MetricsStall {
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		<-ctx.Done()
		return
	}
	if f.MetricsError {
		http.Error(w, "injected metrics fault", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	sn := s.eng.Load().snapshot()
	x := s.shown.Load()
	if x == nil || x.sn != sn {
		var b bytes.Buffer
		writeMetrics(&b, &s.cfg, sn)
		x = &exposition{sn: sn, text: b.Bytes()}
		s.shown.Store(x)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(x.text)))
	_, _ = w.Write(x.text)
}

// exposition is a metrics reply rendered for one snapshot. The simulators share the machine
// with the picker that scrapes them (the EPP latency rig, 2 cores), where a real model server
// is another machine: an unchanged state is served as rendered before, in one write.
type exposition struct {
	sn   snapshot
	text []byte
}
