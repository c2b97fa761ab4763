package anthropic

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// Hand-written encoding of the upstream body: encoding/json would re-validate and compact
// every json.RawMessage (schemas, tool inputs) through reflection on the hot path. Raw parts
// were validated when the client request was decoded, so they are copied as they are.

// encode returns r's JSON, from appendJSON into a buffer of size bytes or, under
// GWCTL_NOFAST=anthropic, from encoding/json.
func (r *messagesRequest) encode(size int) []byte {
	if fastJSON {
		return r.appendJSON(make([]byte, 0, size))
	}
	b, err := r.encodeJSON(size)
	if err != nil {
		return r.appendJSON(make([]byte, 0, size)) // unreachable: every raw part was validated
	}
	return b
}

// encodeJSON is what appendJSON replaces: encoding/json without HTML escapes, as appendJSON.
func (r *messagesRequest) encodeJSON(size int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(size)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// MarshalJSON writes a server tool's Raw object as it is, like appendJSON.
func (t tool) MarshalJSON() ([]byte, error) {
	if t.Raw != nil {
		return t.Raw, nil
	}
	type fields tool // without this method
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(fields(t))
	return buf.Bytes(), err
}

func (r *messagesRequest) appendJSON(b []byte) []byte {
	b = append(b, `{"model":`...)
	b = jsonvalue.AppendStringNoHTML(b, r.Model)
	b = append(b, `,"max_tokens":`...)
	b = strconv.AppendInt(b, r.MaxTokens, 10)
	if len(r.System) > 0 {
		b = append(b, `,"system":`...)
		b = appendBlocks(b, r.System)
	}
	b = append(b, `,"messages":[`...)
	for i := range r.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":`...)
		b = jsonvalue.AppendStringNoHTML(b, r.Messages[i].Role)
		b = append(b, `,"content":`...)
		b = appendBlocks(b, r.Messages[i].Content)
		b = append(b, '}')
	}
	b = append(b, ']')
	if r.Metadata != nil {
		b = append(b, `,"metadata":{"user_id":`...)
		b = jsonvalue.AppendStringNoHTML(b, r.Metadata.UserID)
		b = append(b, '}')
	}
	if len(r.StopSequences) > 0 {
		b = append(b, `,"stop_sequences":[`...)
		for i, s := range r.StopSequences {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonvalue.AppendStringNoHTML(b, s)
		}
		b = append(b, ']')
	}
	if r.Stream {
		b = append(b, `,"stream":true`...)
	}
	if r.Temperature != nil {
		b = append(b, `,"temperature":`...)
		b = appendFloat(b, *r.Temperature)
	}
	if r.TopP != nil {
		b = append(b, `,"top_p":`...)
		b = appendFloat(b, *r.TopP)
	}
	if len(r.Thinking) > 0 {
		b = append(b, `,"thinking":`...)
		b = append(b, r.Thinking...)
	}
	if tc := r.ToolChoice; tc != nil {
		b = append(b, `,"tool_choice":{"type":`...)
		b = jsonvalue.AppendStringNoHTML(b, tc.Type)
		if tc.Name != "" {
			b = append(b, `,"name":`...)
			b = jsonvalue.AppendStringNoHTML(b, tc.Name)
		}
		if tc.DisableParallelToolUse != nil {
			b = append(b, `,"disable_parallel_tool_use":`...)
			b = strconv.AppendBool(b, *tc.DisableParallelToolUse)
		}
		b = append(b, '}')
	}
	if len(r.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i := range r.Tools {
			t := &r.Tools[i]
			if i > 0 {
				b = append(b, ',')
			}
			if t.Raw != nil {
				b = append(b, t.Raw...)
				continue
			}
			b = append(b, `{"name":`...)
			b = jsonvalue.AppendStringNoHTML(b, t.Name)
			if t.Description != nil {
				b = append(b, `,"description":`...)
				b = jsonvalue.AppendStringNoHTML(b, *t.Description)
			}
			b = append(b, `,"input_schema":`...)
			b = append(b, t.InputSchema...)
			if t.Strict {
				b = append(b, `,"strict":true`...)
			}
			if len(t.CacheControl) > 0 {
				b = append(b, `,"cache_control":`...)
				b = append(b, t.CacheControl...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if oc := r.OutputConfig; oc != nil {
		b = append(b, `,"output_config":{`...)
		if oc.Effort != "" {
			b = append(b, `"effort":`...)
			b = jsonvalue.AppendStringNoHTML(b, oc.Effort)
		}
		if oc.Format != nil {
			if oc.Effort != "" {
				b = append(b, ',')
			}
			b = append(b, `"format":{"type":`...)
			b = jsonvalue.AppendStringNoHTML(b, oc.Format.Type)
			b = append(b, `,"schema":`...)
			b = append(b, oc.Format.Schema...)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendBlocks(b []byte, blocks []block) []byte {
	b = append(b, '[')
	for i := range blocks {
		if i > 0 {
			b = append(b, ',')
		}
		b = blocks[i].appendJSON(b)
	}
	return append(b, ']')
}

// appendJSON writes the fields of one content block in the order encoding/json would.
func (k *block) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = jsonvalue.AppendStringNoHTML(b, k.Type)
	str := func(b []byte, name, v string) []byte {
		if v == "" {
			return b
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		return jsonvalue.AppendStringNoHTML(b, v)
	}
	raw := func(b []byte, name string, v json.RawMessage) []byte {
		if len(v) == 0 {
			return b
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		return append(b, v...)
	}
	b = str(b, "text", k.Text)
	if s := k.Source; s != nil {
		b = append(b, `,"source":{"type":`...)
		b = jsonvalue.AppendStringNoHTML(b, s.Type)
		b = str(b, "media_type", s.MediaType)
		b = str(b, "data", s.Data)
		b = str(b, "url", s.URL)
		b = append(b, '}')
	}
	b = str(b, "id", k.ID)
	b = str(b, "name", k.Name)
	b = raw(b, "input", k.Input)
	b = str(b, "tool_use_id", k.ToolUseID)
	b = raw(b, "content", k.Content)
	b = str(b, "thinking", k.Thinking)
	b = str(b, "signature", k.Signature)
	b = str(b, "data", k.Data)
	b = raw(b, "cache_control", k.CacheControl)
	return append(b, '}')
}

// appendFloat formats like encoding/json (1e-7, not 1e-07); NaN and infinities, which no
// decoded body holds, are 0.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	b, _ = jsonvalue.AppendFloat(b, f)
	return b
}
