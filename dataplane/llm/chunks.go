package llm

import (
	"strconv"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// Chunks writes a translated stream's OpenAI chat.completion.chunk events into one reused
// buffer. Every chunk of a stream starts with the same head (id, object, created, model,
// service tier, system fingerprint), set once by Head; when the client asked for usage every
// chunk but the usage chunk ends with "usage":null, as OpenAI's do.
type Chunks struct {
	head   []byte // `{"id":…,"system_fingerprint":null,`
	suffix string
	buf    []byte
}

// NewChunks returns a writer whose chunks carry "usage":null when includeUsage is set.
func NewChunks(includeUsage bool) Chunks {
	c := Chunks{suffix: "}", buf: make([]byte, 0, 512)}
	if includeUsage {
		c.suffix = `,"usage":null}`
	}
	return c
}

// Head sets the members every chunk starts with; serviceTier "" leaves it out.
func (c *Chunks) Head(id string, created int64, model, serviceTier string) {
	p := make([]byte, 0, 160+len(id)+len(model))
	p = append(p, `{"id":`...)
	p = jsonvalue.AppendStringNoHTML(p, id)
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = strconv.AppendInt(p, created, 10)
	p = append(p, `,"model":`...)
	p = jsonvalue.AppendStringNoHTML(p, model)
	if serviceTier != "" {
		p = append(p, `,"service_tier":`...)
		p = jsonvalue.AppendStringNoHTML(p, serviceTier)
	}
	c.head = append(p, `,"system_fingerprint":null,`...)
}

// Begin starts a chunk of choice idx; the caller appends the delta object and calls End.
func (c *Chunks) Begin(idx int) []byte {
	b := append(c.buf[:0], c.head...)
	b = append(b, `"choices":[{"index":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	return append(b, `,"delta":`...)
}

// End finishes the chunk b that Begin started, with finish as its finish_reason ("": null),
// and writes it.
func (c *Chunks) End(w ChunkWriter, b []byte, finish string) error {
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = jsonvalue.AppendStringNoHTML(b, finish)
	}
	b = append(b, "}]"...)
	b = append(b, c.suffix...)
	c.buf = b
	return w.Data(b)
}

// Content writes a chunk of choice idx whose delta is the one string member field.
func (c *Chunks) Content(w ChunkWriter, idx int, field, text string) error {
	b := c.Begin(idx)
	b = append(b, `{"`...)
	b = append(b, field...)
	b = append(b, `":`...)
	b = jsonvalue.AppendStringNoHTML(b, text)
	b = append(b, '}')
	return c.End(w, b, "")
}

// Usage writes the usage chunk: no choices, u in OpenAI's shape.
func (c *Chunks) Usage(w ChunkWriter, u Usage, f UsageFormat) error {
	b := append(c.buf[:0], c.head...)
	b = append(b, `"choices":[],"usage":`...)
	b = u.AppendOpenAI(b, f)
	b = append(b, '}')
	c.buf = b
	return w.Data(b)
}

// Error writes e as the stream's error event.
func (c *Chunks) Error(w ChunkWriter, e *apierror.Error) error {
	c.buf = e.AppendJSON(c.buf[:0])
	return w.Data(c.buf)
}
