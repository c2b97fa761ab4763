package gemini

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// Hand-written encoding of the upstream body, as anthropic's: encoding/json walks the request
// by reflection and re-validates and compacts every json.RawMessage (arguments, responses,
// schemas), which took about a fifth of the request translation. Raw parts were validated when
// the client request was read (the strict reader checked the whole body; arguments and tool
// results are checked again), so they are copied as they are; otherwise the bytes are
// encoding/json's (TestEncodeMatchesEncodingJSON, FuzzDecodeRequest).

// encode returns r's JSON, from appendJSON into a buffer of size bytes or, under
// GWCTL_NOFAST=gemini, from encoding/json.
func (r *generateRequest) encode(size int) ([]byte, error) {
	if fastJSON {
		return r.appendJSON(make([]byte, 0, size)), nil
	}
	return encodeJSON(*r, size)
}

// encodeJSON is what appendJSON replaces: encoding/json without HTML escapes. r is a copy, so
// that only this path moves it to the heap.
func encodeJSON(r generateRequest, size int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(size)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (r *generateRequest) appendJSON(b []byte) []byte {
	b = append(b, `{"contents":`...)
	if r.Contents == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Contents {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendContent(b, &r.Contents[i])
		}
		b = append(b, ']')
	}
	if r.SystemInstruction != nil {
		b = append(b, `,"systemInstruction":`...)
		b = appendContent(b, r.SystemInstruction)
	}
	if len(r.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i, t := range r.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTool(b, &t)
		}
		b = append(b, ']')
	}
	if tc := r.ToolConfig; tc != nil {
		b = append(b, `,"toolConfig":{"functionCallingConfig":{"mode":`...)
		b = jsonvalue.AppendStringNoHTML(b, tc.FunctionCallingConfig.Mode)
		if names := tc.FunctionCallingConfig.AllowedFunctionNames; len(names) > 0 {
			b = append(b, `,"allowedFunctionNames":`...)
			b = appendStrings(b, names)
		}
		b = append(b, "}}"...)
	}
	if gc := r.GenerationConfig; gc != nil {
		b = append(b, `,"generationConfig":`...)
		b = gc.appendJSON(b)
	}
	return append(b, '}')
}

func appendContent(b []byte, c *content) []byte {
	b = append(b, '{')
	if c.Role != "" {
		b = append(b, `"role":`...)
		b = jsonvalue.AppendStringNoHTML(b, c.Role)
		b = append(b, ',')
	}
	b = append(b, `"parts":`...)
	if c.Parts == nil {
		return append(b, "null}"...)
	}
	b = append(b, '[')
	for i := range c.Parts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPart(b, &c.Parts[i])
	}
	return append(b, "]}"...)
}

func appendPart(b []byte, p *part) []byte {
	start := len(b)
	b = append(b, '{')
	member := func(name string) {
		if len(b) > start+1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	if p.Text != "" {
		member("text")
		b = jsonvalue.AppendStringNoHTML(b, p.Text)
	}
	if d := p.InlineData; d != nil {
		member("inlineData")
		b = append(b, `{"mimeType":`...)
		b = jsonvalue.AppendStringNoHTML(b, d.MIMEType)
		b = append(b, `,"data":`...)
		b = jsonvalue.AppendStringNoHTML(b, d.Data)
		b = append(b, '}')
	}
	if f := p.FileData; f != nil {
		member("fileData")
		b = append(b, '{')
		if f.MIMEType != "" {
			b = append(b, `"mimeType":`...)
			b = jsonvalue.AppendStringNoHTML(b, f.MIMEType)
			b = append(b, ',')
		}
		b = append(b, `"fileUri":`...)
		b = jsonvalue.AppendStringNoHTML(b, f.FileURI)
		b = append(b, '}')
	}
	if fc := p.FunctionCall; fc != nil {
		member("functionCall")
		b = append(b, `{"name":`...)
		b = jsonvalue.AppendStringNoHTML(b, fc.Name)
		b = append(b, `,"args":`...)
		b = appendRaw(b, fc.Args)
		b = append(b, '}')
	}
	if fr := p.FunctionResponse; fr != nil {
		member("functionResponse")
		b = append(b, `{"name":`...)
		b = jsonvalue.AppendStringNoHTML(b, fr.Name)
		b = append(b, `,"response":`...)
		b = appendRaw(b, fr.Response)
		b = append(b, '}')
	}
	if p.ThoughtSignature != "" {
		member("thoughtSignature")
		b = jsonvalue.AppendStringNoHTML(b, p.ThoughtSignature)
	}
	return append(b, '}')
}

func appendTool(b []byte, t *tool) []byte {
	b = append(b, `{"functionDeclarations":`...)
	if t.FunctionDeclarations == nil {
		return append(b, "null}"...)
	}
	b = append(b, '[')
	for i := range t.FunctionDeclarations {
		d := &t.FunctionDeclarations[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = jsonvalue.AppendStringNoHTML(b, d.Name)
		if d.Description != "" {
			b = append(b, `,"description":`...)
			b = jsonvalue.AppendStringNoHTML(b, d.Description)
		}
		if len(d.ParametersJSONSchema) > 0 {
			b = append(b, `,"parametersJsonSchema":`...)
			b = appendRaw(b, d.ParametersJSONSchema)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func (gc *generationConfig) appendJSON(b []byte) []byte {
	start := len(b)
	b = append(b, '{')
	member := func(name string) {
		if len(b) > start+1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	float := func(name string, f *float64) {
		if f != nil {
			member(name)
			b, _ = jsonvalue.AppendFloat(b, *f) // decoded from JSON: never NaN or infinite
		}
	}
	if len(gc.StopSequences) > 0 {
		member("stopSequences")
		b = appendStrings(b, gc.StopSequences)
	}
	if gc.CandidateCount != 0 {
		member("candidateCount")
		b = strconv.AppendInt(b, gc.CandidateCount, 10)
	}
	if gc.MaxOutputTokens != 0 {
		member("maxOutputTokens")
		b = strconv.AppendInt(b, gc.MaxOutputTokens, 10)
	}
	float("temperature", gc.Temperature)
	float("topP", gc.TopP)
	if gc.Seed != nil {
		member("seed")
		b = strconv.AppendInt(b, *gc.Seed, 10)
	}
	float("presencePenalty", gc.PresencePenalty)
	float("frequencyPenalty", gc.FrequencyPenalty)
	if gc.ResponseMIMEType != "" {
		member("responseMimeType")
		b = jsonvalue.AppendStringNoHTML(b, gc.ResponseMIMEType)
	}
	if len(gc.ResponseJSONSchema) > 0 {
		member("responseJsonSchema")
		b = appendRaw(b, gc.ResponseJSONSchema)
	}
	if tc := gc.ThinkingConfig; tc != nil {
		member("thinkingConfig")
		n := len(b)
		b = append(b, '{')
		if tc.IncludeThoughts {
			b = append(b, `"includeThoughts":true`...)
		}
		if tc.ThinkingBudget != nil {
			if len(b) > n+1 {
				b = append(b, ',')
			}
			b = append(b, `"thinkingBudget":`...)
			b = strconv.AppendInt(b, *tc.ThinkingBudget, 10)
		}
		if tc.ThinkingLevel != "" {
			if len(b) > n+1 {
				b = append(b, ',')
			}
			b = append(b, `"thinkingLevel":`...)
			b = jsonvalue.AppendStringNoHTML(b, tc.ThinkingLevel)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonvalue.AppendStringNoHTML(b, s)
	}
	return append(b, ']')
}

// appendRaw copies a validated raw value; nil is null, as encoding/json writes it.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	return append(b, raw...)
}
