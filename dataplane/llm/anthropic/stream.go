package anthropic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/sse"
	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// chunkWriter receives translated stream output; *llm.SSEWriter implements it.
type chunkWriter = llm.ChunkWriter

// maxBlocks bounds the content-block index an upstream stream may use.
const maxBlocks = 4096

type blockKind uint8

const (
	kindOther blockKind = iota
	kindText
	kindThinking
	kindTool
	kindJSONTool // the structured-output fallback tool: its input is streamed as content
)

type blockState struct {
	kind    blockKind
	slot    int
	sawArgs bool
	// start is the number of content characters before a text block, runes the number in it
	// (the range its URL citations annotate).
	start, runes int
}

// pendingCitation is a URL citation of a text block, emitted as an annotation when the block
// stops and its length is known.
type pendingCitation struct {
	index      int
	url, title string
}

// streamState is the stream state machine: Anthropic SSE events in, OpenAI
// chat.completion.chunk events out. One per response; not safe for concurrent use.
type streamState struct {
	t            *translator
	ctx          context.Context
	jsonTool     string
	includeUsage bool
	created      int64
	secret       string // removed from upstream error messages before they reach the client

	started    bool
	done       bool
	id, model  string
	usage      llm.Usage
	hasUsage   bool
	stopReason string
	finish     string
	blocks     []blockState
	nextSlot   int
	runes      int // characters of content emitted so far
	citations  []pendingCitation

	ev streamEvent
	ch llm.Chunks
}

func (t *translator) newStream(ctx context.Context, created int64, includeUsage bool, jsonTool string) *streamState {
	s := &streamState{t: t, ctx: ctx, created: created, includeUsage: includeUsage, jsonTool: jsonTool, ch: llm.NewChunks(includeUsage)}
	return s
}

// run translates the upstream event stream until message_stop (nil), an upstream error or a
// broken stream (an *llm.StreamError, already written to the client), a client write failure
// (wrapping llm.ErrClientWrite) or the end of the request context.
func (s *streamState) run(body io.Reader, w chunkWriter) error {
	return llm.RelayStream(s.ctx, body, w, s)
}

// StreamEvent implements llm.StreamTranslator.
func (s *streamState) StreamEvent(_ context.Context, data []byte, w chunkWriter) (bool, error) {
	return s.event(data, w)
}

// StreamEnd implements llm.StreamTranslator: an upstream EOF without message_stop is an
// error, not a clean finish.
func (s *streamState) StreamEnd(_ context.Context, err error, w chunkWriter) error {
	e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "api_error", Message: "reading the Anthropic stream failed"}
	if errors.Is(err, io.EOF) {
		e.Message = "the Anthropic stream ended before message_stop"
	} else if errors.Is(err, sse.ErrEventTooLarge) {
		e.Message = "the Anthropic stream sent an oversized event"
	}
	return s.fail(w, e)
}

// event handles one upstream SSE data payload. It returns done=true after message_stop (or
// after an upstream error event has been written); an *llm.StreamError reports a failure that
// has already been written to the client; other errors are client write failures.
func (s *streamState) event(data []byte, w chunkWriter) (done bool, err error) {
	if handled, err := s.fastEvent(data, w); handled || err != nil {
		return false, err
	}
	if err := decodeEvent(data, &s.ev); err != nil {
		return true, s.fail(w, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "upstream sent a malformed stream event"})
	}
	ev := &s.ev
	switch ev.Type {
	case "message_start":
		if ev.Message == nil {
			return true, s.fail(w, protocolError("message_start without message"))
		}
		if s.started {
			return false, nil
		}
		s.start(ev.Message)
		b := s.ch.Begin(0)
		b = append(b, `{"role":"assistant","content":""}`...)
		return false, s.ch.End(w, b, "")
	case "ping":
		return false, nil
	case "error":
		e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Message: "upstream stream error"}
		if ev.Error != nil {
			e = mapErrorType(ev.Error.Type, llm.Redact(ev.Error.Message, s.secret))
			e.Status = http.StatusBadGateway
		}
		return true, s.fail(w, e)
	}
	if !s.started {
		if ev.Type == "message_stop" || ev.Type == "message_delta" || len(ev.Type) > 8 && ev.Type[:8] == "content_" {
			return true, s.fail(w, protocolError(ev.Type+" before message_start"))
		}
		return false, nil
	}
	switch ev.Type {
	case "content_block_start":
		return false, s.blockStart(w)
	case "content_block_delta":
		return false, s.blockDelta(w)
	case "content_block_stop":
		return false, s.blockStop(w)
	case "message_delta":
		if ev.Delta.StopReason != "" {
			s.stopReason = ev.Delta.StopReason
		}
		if ev.Usage != nil {
			ev.Usage.mergeInto(&s.usage)
			s.hasUsage = true
		}
		return false, nil
	case "message_stop":
		return true, s.stop(w)
	}
	return false, nil // unknown event types are ignored
}

func protocolError(what string) *apierror.Error {
	return &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "upstream stream is malformed: " + what}
}

func (s *streamState) start(m *message) {
	s.started = true
	s.id, s.model = m.ID, m.Model
	m.Usage.mergeInto(&s.usage)
	s.hasUsage = true
	s.ch.Head(s.id, s.created, s.model, serviceTier(m.Usage.ServiceTier))
}

func (s *streamState) toolArgs(w chunkWriter, slot int, frag string) error {
	b := s.ch.Begin(0)
	b = append(b, `{"tool_calls":[{"index":`...)
	b = strconv.AppendInt(b, int64(slot), 10)
	b = append(b, `,"function":{"arguments":`...)
	b = jsonvalue.AppendStringNoHTML(b, frag)
	b = append(b, `}}]}`...)
	return s.ch.End(w, b, "")
}

func (s *streamState) block(i int) *blockState {
	if i < 0 || i >= len(s.blocks) {
		return nil
	}
	return &s.blocks[i]
}

func (s *streamState) blockStart(w chunkWriter) error {
	ev := &s.ev
	if ev.Index < 0 || ev.Index >= maxBlocks || ev.ContentBlock == nil {
		return s.fail(w, protocolError(fmt.Sprintf("content_block_start with index %d", ev.Index)))
	}
	for len(s.blocks) <= ev.Index {
		s.blocks = append(s.blocks, blockState{})
	}
	bs := &s.blocks[ev.Index]
	*bs = blockState{}
	cb := ev.ContentBlock
	switch cb.Type {
	case "text":
		bs.kind = kindText
		bs.start = s.runes
		for i := range cb.Citations {
			s.cite(ev.Index, &cb.Citations[i])
		}
		if cb.Text != "" {
			return s.text(w, bs, cb.Text)
		}
	case "thinking":
		bs.kind = kindThinking
		if cb.Thinking != "" {
			if err := s.ch.Content(w, 0, "reasoning_content", cb.Thinking); err != nil {
				return err
			}
		}
		if cb.Signature != "" {
			return s.signature(w, cb.Signature)
		}
	case "redacted_thinking":
		if cb.Data != "" {
			b := s.ch.Begin(0)
			b = append(b, `{"thinking_blocks":[{"type":"redacted_thinking","data":`...)
			b = jsonvalue.AppendStringNoHTML(b, cb.Data)
			b = append(b, `}]}`...)
			return s.ch.End(w, b, "")
		}
	case "tool_use":
		input := appendCompact(nil, cb.Input)
		hasInput := string(input) != "{}"
		if s.jsonTool != "" && cb.Name == s.jsonTool {
			bs.kind = kindJSONTool
			if hasInput {
				bs.sawArgs = true
				return s.text(w, bs, string(input))
			}
			return nil
		}
		bs.kind = kindTool
		bs.slot = s.nextSlot
		s.nextSlot++
		b := s.ch.Begin(0)
		b = append(b, `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(bs.slot), 10)
		b = append(b, `,"id":`...)
		b = jsonvalue.AppendStringNoHTML(b, cb.ID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = jsonvalue.AppendStringNoHTML(b, cb.Name)
		b = append(b, `,"arguments":`...)
		if hasInput {
			bs.sawArgs = true
			b = jsonvalue.AppendStringNoHTML(b, string(input))
		} else {
			b = append(b, `""`...)
		}
		b = append(b, `}}]}`...)
		return s.ch.End(w, b, "")
	}
	return nil
}

func (s *streamState) blockDelta(w chunkWriter) error {
	ev := &s.ev
	bs := s.block(ev.Index)
	if bs == nil {
		return nil
	}
	d := &ev.Delta
	switch d.Type {
	case "text_delta":
		if bs.kind == kindText && d.Text != "" {
			return s.text(w, bs, d.Text)
		}
	case "thinking_delta":
		if bs.kind == kindThinking && d.Thinking != "" {
			return s.ch.Content(w, 0, "reasoning_content", d.Thinking)
		}
	case "signature_delta":
		if bs.kind == kindThinking && d.Signature != "" {
			return s.signature(w, d.Signature)
		}
	case "citations_delta":
		if bs.kind == kindText && d.Citation != nil {
			s.cite(ev.Index, d.Citation)
		}
	case "input_json_delta":
		if d.PartialJSON == "" {
			return nil
		}
		switch bs.kind {
		case kindTool:
			bs.sawArgs = true
			return s.toolArgs(w, bs.slot, d.PartialJSON)
		case kindJSONTool:
			bs.sawArgs = true
			return s.text(w, bs, d.PartialJSON)
		}
	}
	return nil
}

// text emits message content of block bs, counting its characters for annotations.
func (s *streamState) text(w chunkWriter, bs *blockState, text string) error {
	n := utf8.RuneCountInString(text)
	s.runes += n
	bs.runes += n
	return s.ch.Content(w, 0, "content", text)
}

// signature emits the signature that closes a thinking block as a thinking_blocks delta
// (LiteLLM's shape); the block's text went out as reasoning_content.
func (s *streamState) signature(w chunkWriter, sig string) error {
	b := s.ch.Begin(0)
	b = append(b, `{"thinking_blocks":[{"type":"thinking","thinking":"","signature":`...)
	b = jsonvalue.AppendStringNoHTML(b, sig)
	b = append(b, `}]}`...)
	return s.ch.End(w, b, "")
}

// cite remembers a URL citation of text block index until the block stops.
func (s *streamState) cite(index int, c *citation) {
	if url, title, ok := c.urlCitation(); ok && len(s.citations) < maxBlocks {
		s.citations = append(s.citations, pendingCitation{index: index, url: url, title: title})
	}
}

// annotate emits the URL citations of the text block that stopped as a delta.annotations
// chunk over the block's range of content.
func (s *streamState) annotate(w chunkWriter, index int, bs *blockState) error {
	b := s.ch.Begin(0)
	b = append(b, `{"annotations":[`...)
	kept, first := s.citations[:0], true
	for _, c := range s.citations {
		if c.index != index {
			kept = append(kept, c)
			continue
		}
		b = appendAnnotation(b, first, c.url, c.title, bs.start, bs.start+bs.runes)
		first = false
	}
	s.citations = kept
	if first {
		return nil
	}
	b = append(b, `]}`...)
	return s.ch.End(w, b, "")
}

func (s *streamState) blockStop(w chunkWriter) error {
	bs := s.block(s.ev.Index)
	if bs == nil {
		return nil
	}
	if bs.kind == kindText && len(s.citations) > 0 {
		return s.annotate(w, s.ev.Index, bs)
	}
	if bs.sawArgs {
		return nil
	}
	switch bs.kind {
	case kindTool:
		bs.sawArgs = true
		return s.toolArgs(w, bs.slot, "{}")
	case kindJSONTool:
		bs.sawArgs = true
		return s.text(w, bs, "{}")
	}
	return nil
}

func (s *streamState) stop(w chunkWriter) error {
	s.done = true
	s.finish = finishReason(s.ctx, s.t.log, s.stopReason)
	if s.jsonTool != "" && s.nextSlot == 0 && s.finish == "tool_calls" {
		s.finish = "stop"
	}
	b := s.ch.Begin(0)
	b = append(b, "{}"...)
	if err := s.ch.End(w, b, s.finish); err != nil {
		return err
	}
	if s.includeUsage {
		if err := s.writeUsage(w); err != nil {
			return err
		}
	}
	return w.Done()
}

func (s *streamState) writeUsage(w chunkWriter) error {
	return s.ch.Usage(w, s.usage, llm.UsageFormat{CacheSplit: s.t.cacheSplit})
}

// fail ends the stream with an OpenAI error event and no [DONE]; when usage is on, the
// best-known usage goes first so the tokens already spent are billed.
func (s *streamState) fail(w chunkWriter, e *apierror.Error) error {
	s.done = true
	if s.includeUsage && s.started {
		s.t.log.WarnContext(s.ctx, "stream failed; emitting partial usage", "id", s.id, "output_tokens", s.usage.Output)
		if err := s.writeUsage(w); err != nil {
			return err
		}
	}
	if err := s.ch.Error(w, e); err != nil {
		return err
	}
	return &llm.StreamError{Err: e}
}
