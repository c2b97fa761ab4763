package gemini

import (
	"sync"

	"github.com/infergw/gwctl/dataplane/llm/chat"
	"github.com/infergw/gwctl/dataplane/llm/scratch"
)

// reqScratch is what one request translation decodes the client's body into and builds the
// upstream body from: the request's structs, slices and maps, reused from request to request
// (scratches) instead of some forty allocations each time. Every value in it is dead once the
// upstream body is encoded, which is a new buffer: nothing translateRequest returns points
// into it. Strings in it alias the client's body (or are new), never the scratch.
type reqScratch struct {
	in  chatRequest
	out generateRequest
	gc  generationConfig

	// The decoded request's nested values: each slice or pointer the decoder hands out is a
	// piece of one of these (slices capped, so that appending to one copies it).
	messages  []chatMessage
	toolCalls []chatToolCall
	tools     []chatTool
	functions []chat.Function
	strs      []string
	bools     []bool
	int64s    []int64
	float64s  []float64
	chatParts []chatPart
	imageURLs []chat.ImageURL
	files     []chat.File

	// The upstream request's.
	contents  []content
	parts     []part
	system    []part
	calls     []functionCall
	responses []functionResponse
	blobs     []blob
	fileDatas []fileData
	decls     []functionDeclaration
	tool      [1]tool
	toolCfg   toolConfig
	sysTurn   content
	content   []chatPart // the message content contentParts is reading
	raw       []byte     // tool call arguments and functionResponse bodies, unquoted or built here

	callNames map[string]string // tool call id → function name
	toolNames map[string]bool
}

var scratches = sync.Pool{New: func() any {
	return &reqScratch{callNames: map[string]string{}, toolNames: map[string]bool{}}
}}

// newScratch is a scratch of one's own, for tests and the decoders' callers outside a request.
func newScratch() *reqScratch {
	return &reqScratch{callNames: map[string]string{}, toolNames: map[string]bool{}}
}

// release clears the scratch and returns it to the pool.
func (sc *reqScratch) release() {
	if sc.clear() {
		scratches.Put(sc)
	}
}

// clear empties the scratch (no body stays reachable from the pool); false when it grew too
// large to keep.
func (sc *reqScratch) clear() bool {
	sc.in, sc.out, sc.gc = chatRequest{}, generateRequest{}, generationConfig{}
	scratch.Reset(&sc.messages)
	scratch.Reset(&sc.toolCalls)
	scratch.Reset(&sc.tools)
	scratch.Reset(&sc.functions)
	scratch.Reset(&sc.strs)
	scratch.Reset(&sc.bools)
	scratch.Reset(&sc.int64s)
	scratch.Reset(&sc.float64s)
	scratch.Reset(&sc.chatParts)
	scratch.Reset(&sc.imageURLs)
	scratch.Reset(&sc.files)
	scratch.Reset(&sc.contents)
	scratch.Reset(&sc.parts)
	scratch.Reset(&sc.system)
	scratch.Reset(&sc.calls)
	scratch.Reset(&sc.responses)
	scratch.Reset(&sc.blobs)
	scratch.Reset(&sc.fileDatas)
	scratch.Reset(&sc.decls)
	sc.tool, sc.toolCfg, sc.sysTurn, sc.content = [1]tool{}, toolConfig{}, content{}, nil
	// The request's argument bytes do not stay readable in the pool.
	scratch.ResetBytes(&sc.raw)
	keep := len(sc.callNames) <= scratch.MaxKept && len(sc.toolNames) <= scratch.MaxKept // a cleared map keeps its buckets
	clear(sc.callNames)
	clear(sc.toolNames)
	return keep
}

// replyScratch holds a whole reply's decoded structs while translateResponse writes the
// client's body, reused from reply to reply (replies).
type replyScratch struct {
	r          generateResponse
	candidates []candidate
	contents   []candidateContent
	parts      []responsePart
	calls      []responseCall
	usage      usageMetadata
}

var replies = sync.Pool{New: func() any { return new(replyScratch) }}

// release clears the scratch and returns it to the pool.
func (rs *replyScratch) release() {
	rs.clear()
	replies.Put(rs)
}

// clear empties the scratch: none of the reply stays reachable.
func (rs *replyScratch) clear() {
	rs.r, rs.usage = generateResponse{}, usageMetadata{}
	scratch.Reset(&rs.candidates)
	scratch.Reset(&rs.contents)
	scratch.Reset(&rs.parts)
	scratch.Reset(&rs.calls)
}
