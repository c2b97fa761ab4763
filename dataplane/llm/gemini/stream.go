package gemini

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/llm"
	"github.com/infergw/gwctl/dataplane/sse"
)

// choiceState is the stream state of one candidate (one OpenAI choice).
type choiceState struct {
	started, finished bool
	calls             int // tool calls so far: the next tool call's index
}

// streamState translates streamGenerateContent?alt=sse events (each a GenerateContentResponse
// holding the next parts of each candidate, the cumulative usage so far, and on the last one
// the finish reason) into OpenAI chat.completion.chunk events. Gemini ends the stream by
// closing it: an end after every candidate finished is the clean end ([DONE]); an earlier one
// is an error. One per response; not safe for concurrent use.
type streamState struct {
	t            *translator
	ctx          context.Context
	created      int64
	includeUsage bool
	model        string // the requested model, until the stream names its version
	candidates   int64
	secret       string // removed from upstream error messages before they reach the client

	started  bool
	id       string
	usage    llm.Usage
	hasUsage bool
	finish   string // the first choice's finish reason
	choices  []choiceState
	ch       llm.Chunks
	fast     textEvent // the event fastEvent reads
}

func (t *translator) newStream(ctx context.Context, created int64, up *upstreamRequest) *streamState {
	s := &streamState{t: t, ctx: ctx, created: created, includeUsage: up.IncludeUsage, model: up.Model,
		candidates: max(up.Candidates, 1), ch: llm.NewChunks(up.IncludeUsage)}
	return s
}

// run translates the upstream stream (tests and benchmarks; the handler uses llm.RelayStream).
func (s *streamState) run(body io.Reader, w llm.ChunkWriter) error {
	return llm.RelayStream(s.ctx, body, w, s)
}

// StreamEvent implements llm.StreamTranslator.
func (s *streamState) StreamEvent(_ context.Context, data []byte, w llm.ChunkWriter) (bool, error) {
	if handled, err := s.fastEvent(data, w); handled {
		return err != nil, err
	}
	var ev generateResponse
	if err := decodeResponse(data, &ev); err != nil {
		return true, s.fail(w, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "upstream sent a malformed stream event"})
	}
	if ev.Error != nil {
		e := googleErrorToOpenAI(http.StatusBadGateway, ev.Error)
		e.Message = llm.Redact(e.Message, s.secret)
		e.Status = http.StatusBadGateway
		return true, s.fail(w, e)
	}
	if !s.started {
		s.start(&ev)
	}
	if ev.UsageMetadata != nil { // cumulative: the latest wins
		s.usage, s.hasUsage = ev.UsageMetadata.usage(), true
	}
	if len(ev.Candidates) == 0 && ev.PromptFeedback != nil && ev.PromptFeedback.BlockReason != "" {
		for i := range s.candidates {
			if err := s.finishChoice(w, int(i), "content_filter"); err != nil {
				return true, err
			}
		}
		return false, nil
	}
	for i := range ev.Candidates {
		c := &ev.Candidates[i]
		if c.Index < 0 || c.Index >= s.candidates {
			return true, s.fail(w, protocolError("candidate index "+strconv.FormatInt(c.Index, 10)+" beyond the "+strconv.FormatInt(s.candidates, 10)+" asked for"))
		}
		idx := int(c.Index)
		ch := s.choice(idx)
		if ch.finished {
			continue // nothing may follow a candidate's finish reason
		}
		if !ch.started {
			ch.started = true
			b := s.ch.Begin(idx)
			b = append(b, `{"role":"assistant","content":""}`...)
			if err := s.ch.End(w, b, ""); err != nil {
				return true, err
			}
		}
		if c.Content != nil {
			for j := range c.Content.Parts {
				if err := s.part(w, idx, &c.Content.Parts[j]); err != nil {
					return true, err
				}
			}
		}
		if c.FinishReason != "" {
			finish := finishReason(s.ctx, s.t.log, c.FinishReason, s.choice(idx).calls > 0)
			if err := s.finishChoice(w, idx, finish); err != nil {
				return true, err
			}
		}
	}
	return false, nil
}

func (s *streamState) choice(i int) *choiceState {
	for len(s.choices) <= i {
		s.choices = append(s.choices, choiceState{})
	}
	return &s.choices[i]
}

func (s *streamState) part(w llm.ChunkWriter, idx int, p *responsePart) error {
	switch {
	case p.FunctionCall != nil:
		ch := s.choice(idx)
		b := s.ch.Begin(idx)
		b = append(b, `{"tool_calls":[`...)
		b = appendToolCall(b, p, s.id, ch.calls, ch.calls)
		b = append(b, `]}`...)
		ch.calls++
		return s.ch.End(w, b, "")
	case p.Text == "":
		return nil
	case p.Thought:
		return s.ch.Content(w, idx, "reasoning_content", p.Text)
	default:
		return s.ch.Content(w, idx, "content", p.Text)
	}
}

// finishChoice writes the finish chunk of choice idx once.
func (s *streamState) finishChoice(w llm.ChunkWriter, idx int, finish string) error {
	ch := s.choice(idx)
	if ch.finished {
		return nil
	}
	if !ch.started {
		ch.started = true
		b := s.ch.Begin(idx)
		b = append(b, `{"role":"assistant","content":""}`...)
		if err := s.ch.End(w, b, ""); err != nil {
			return err
		}
	}
	ch.finished = true
	if idx == 0 {
		s.finish = finish
	}
	b := s.ch.Begin(idx)
	b = append(b, "{}"...)
	return s.ch.End(w, b, finish)
}

// StreamEnd implements llm.StreamTranslator: Gemini closes the stream after the last event, so
// EOF once every candidate has finished is the end; anything else is an error.
func (s *streamState) StreamEnd(_ context.Context, err error, w llm.ChunkWriter) error {
	done := s.started && int64(len(s.choices)) == s.candidates
	for _, ch := range s.choices {
		done = done && ch.finished
	}
	if errors.Is(err, io.EOF) && done {
		if s.includeUsage {
			if err := s.writeUsage(w); err != nil {
				return err
			}
		}
		return w.Done()
	}
	e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "api_error", Message: "reading the Gemini stream failed"}
	if errors.Is(err, io.EOF) {
		e.Message = "the Gemini stream ended before a finish reason"
	} else if errors.Is(err, sse.ErrEventTooLarge) {
		e.Message = "the Gemini stream sent an oversized event"
	}
	return s.fail(w, e)
}

func protocolError(what string) *apierror.Error {
	return &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "upstream stream is malformed: " + what}
}

func (s *streamState) start(ev *generateResponse) {
	s.started = true
	s.id = ev.ResponseID
	if s.id == "" {
		s.id = "chatcmpl-gemini-" + strconv.FormatInt(s.created, 10)
	}
	if ev.ModelVersion != "" {
		s.model = ev.ModelVersion
	}
	s.ch.Head(s.id, s.created, s.model, "")
}

func (s *streamState) writeUsage(w llm.ChunkWriter) error {
	return s.ch.Usage(w, s.usage, llm.UsageFormat{})
}

// fail ends the stream with an OpenAI error event and no [DONE]; when usage is on, the
// best-known usage goes first so the tokens already spent are billed.
func (s *streamState) fail(w llm.ChunkWriter, e *apierror.Error) error {
	if s.includeUsage && s.started && s.hasUsage {
		if err := s.writeUsage(w); err != nil {
			return err
		}
	}
	if err := s.ch.Error(w, e); err != nil {
		return err
	}
	return &llm.StreamError{Err: e}
}
