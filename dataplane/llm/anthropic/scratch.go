package anthropic

import (
	"sync"

	"github.com/infergw/gwctl/dataplane/llm/chat"
	"github.com/infergw/gwctl/dataplane/llm/jsonscan"
	"github.com/infergw/gwctl/dataplane/llm/scratch"
)

// reqScratch is what one request translation decodes the client's body into and builds the
// upstream body from, reused from request to request (scratches) instead of some forty
// allocations each time. Every value in it is dead once the upstream body is encoded, which
// is a new buffer: nothing translateRequest returns points into it. Strings in it alias the
// client's body or its raw buffer, never outliving the translation.
type reqScratch struct {
	scan scanner
	in   chatRequest
	out  messagesRequest
	meta metadata
	tc   toolChoice
	flag bool // disable_parallel_tool_use
	temp float64
	topP float64

	// The decoded request's nested values: each slice or pointer the decoder hands out is a
	// piece of one of these (slices capped, so that appending to one copies it).
	messages  []chatMessage
	toolCalls []chatToolCall
	thinking  []thinkingBlock
	tools     []chatTool
	functions []chat.Function
	chatParts []chatPart
	imageURLs []chat.ImageURL
	files     []chat.File
	fieldsets []jsonscan.Fields
	strs      []string
	bools     []bool
	int64s    []int64
	float64s  []float64

	// The upstream request's.
	turns    []turn
	blocks   []block // turn contents
	system   []block
	msg      []block // one message's blocks, copied into blocks
	parts    []block // a tool result's blocks, encoded into raw
	results  []block // the pending user turn's tool results
	other    []block // and its other blocks
	outTools []tool
	sources  []source
	raw      []byte // tool inputs and tool result contents
}

var scratches = sync.Pool{New: func() any { return new(reqScratch) }}

// release clears the scratch and returns it to the pool.
func (sc *reqScratch) release() {
	sc.clear()
	scratches.Put(sc)
}

// clear empties the scratch: no part of the request stays reachable from the pool.
func (sc *reqScratch) clear() {
	sc.scan, sc.in, sc.out, sc.meta, sc.tc = scanner{}, chatRequest{}, messagesRequest{}, metadata{}, toolChoice{}
	sc.flag, sc.temp, sc.topP = false, 0, 0
	scratch.Reset(&sc.messages)
	scratch.Reset(&sc.toolCalls)
	scratch.Reset(&sc.thinking)
	scratch.Reset(&sc.tools)
	scratch.Reset(&sc.functions)
	scratch.Reset(&sc.chatParts)
	scratch.Reset(&sc.imageURLs)
	scratch.Reset(&sc.files)
	scratch.Reset(&sc.fieldsets)
	scratch.Reset(&sc.strs)
	scratch.Reset(&sc.bools)
	scratch.Reset(&sc.int64s)
	scratch.Reset(&sc.float64s)
	scratch.Reset(&sc.turns)
	scratch.Reset(&sc.blocks)
	scratch.Reset(&sc.system)
	scratch.Reset(&sc.msg)
	scratch.Reset(&sc.parts)
	scratch.Reset(&sc.results)
	scratch.Reset(&sc.other)
	scratch.Reset(&sc.outTools)
	scratch.Reset(&sc.sources)
	scratch.ResetBytes(&sc.raw) // its bytes are the request's
}

// copyIn returns a copy of blocks in the scratch; nil for none, as append to nil would.
func (sc *reqScratch) copyIn(blocks []block) []block {
	if len(blocks) == 0 {
		return nil
	}
	return append(scratch.Slice(&sc.blocks, len(blocks)), blocks...)
}

// pool returns the scratch's pool f selects, or nil when there is no scratch (the decoders'
// callers outside a request).
func pool[T any](sc *reqScratch, f func(*reqScratch) *[]T) *[]T {
	if sc == nil {
		return nil
	}
	return f(sc)
}

// replyScratch holds a whole reply's decoded values while translateResponse writes the
// client's body, reused from reply to reply (replies). Its strings alias the reply's body;
// what outlives the translation (model, id) is cloned.
type replyScratch struct {
	scan      scanner
	m         message
	blocks    []responseBlock
	citations []citation
	int64s    []int64
	text      []byte // the message's text, reasoning and one tool input at a time
	reasoning []byte
	input     []byte
}

var replies = sync.Pool{New: func() any { return new(replyScratch) }}

// release clears the scratch and returns it to the pool.
func (rs *replyScratch) release() {
	rs.clear()
	replies.Put(rs)
}

// clear empties the scratch: none of the reply stays reachable, nor its bytes.
func (rs *replyScratch) clear() {
	rs.scan, rs.m = scanner{}, message{}
	scratch.Reset(&rs.blocks)
	scratch.Reset(&rs.citations)
	scratch.Reset(&rs.int64s)
	scratch.ResetBytes(&rs.text)
	scratch.ResetBytes(&rs.reasoning)
	scratch.ResetBytes(&rs.input)
}

// replyPool is pool for a reply's scratch.
func replyPool[T any](rs *replyScratch, f func(*replyScratch) *[]T) *[]T {
	if rs == nil {
		return nil
	}
	return f(rs)
}

// source returns v in the scratch (or new without one).
func (sc *reqScratch) source(v source) *source {
	var p *[]source
	if sc != nil {
		p = &sc.sources
	}
	s := scratch.New(p)
	*s = v
	return s
}
