package gemini

import (
	"sync"

	"github.com/infergw/gwctl/dataplane/llm/chat"
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

// maxKept bounds the elements a scratch slice keeps for the next request: one huge request
// does not pin its memory in the pool.
const maxKept = 512

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
	reset(&sc.messages)
	reset(&sc.toolCalls)
	reset(&sc.tools)
	reset(&sc.functions)
	reset(&sc.strs)
	reset(&sc.bools)
	reset(&sc.int64s)
	reset(&sc.float64s)
	reset(&sc.chatParts)
	reset(&sc.imageURLs)
	reset(&sc.files)
	reset(&sc.contents)
	reset(&sc.parts)
	reset(&sc.system)
	reset(&sc.calls)
	reset(&sc.responses)
	reset(&sc.blobs)
	reset(&sc.fileDatas)
	reset(&sc.decls)
	sc.tool, sc.toolCfg, sc.sysTurn, sc.content = [1]tool{}, toolConfig{}, content{}, nil
	if cap(sc.raw) > 64<<10 {
		sc.raw = nil
	}
	clear(sc.raw) // the request's argument bytes do not stay readable in the pool
	sc.raw = sc.raw[:0]
	keep := len(sc.callNames) <= maxKept && len(sc.toolNames) <= maxKept // a cleared map keeps its buckets
	clear(sc.callNames)
	clear(sc.toolNames)
	return keep
}

func reset[T any](s *[]T) {
	if cap(*s) > maxKept {
		*s = nil
		return
	}
	clear(*s)
	*s = (*s)[:0]
}

// newIn returns a zero T that is the next element of *pool.
func newIn[T any](pool *[]T) *T {
	*pool = append(*pool, *new(T))
	return &(*pool)[len(*pool)-1]
}

// sliceIn returns an empty slice of capacity n from the end of *pool (capped: appending beyond
// n copies it).
func sliceIn[T any](pool *[]T, n int) []T {
	start := len(*pool)
	if cap(*pool)-start < n {
		// A new backing array: slices handed out before keep the old one.
		*pool = append(make([]T, 0, max(2*cap(*pool), start+n, 16)), *pool...)
	}
	*pool = (*pool)[:start+n]
	return (*pool)[start : start : start+n]
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
	reset(&rs.candidates)
	reset(&rs.contents)
	reset(&rs.parts)
	reset(&rs.calls)
}
