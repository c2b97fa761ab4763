package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/dataplane/llm/chat"
)

var emptyObjectSchema = json.RawMessage(`{"type":"object","properties":{}}`)

// tools maps tools (function tools, allowed server tools, web_search_options), tool_choice
// and parallel_tool_calls.
func (t *translator) tools(ctx context.Context, in *chatRequest, out *messagesRequest, sc *reqScratch) *apierror.Error {
	servers := 0
	if len(in.Tools) > 0 {
		out.Tools = sc.outTools[:0]
		defer func() { sc.outTools = out.Tools[:0] }() // its array, cleared with the scratch
	}
	for i := range in.Tools {
		ct := &in.Tools[i]
		if ct.Type != "function" && ct.Type != "" {
			if err := t.serverTool(i, ct, out); err != nil {
				return err
			}
			servers++
			continue
		}
		if ct.Function == nil || ct.Function.Name == "" {
			return apierror.InvalidRequest(fmt.Sprintf("tools[%d].function.name", i), "tool function name is required")
		}
		schema, err := inputSchema(ct.Function.Parameters)
		if err != nil {
			return apierror.InvalidRequest(fmt.Sprintf("tools[%d].function.parameters", i), "%s", err)
		}
		out.Tools = append(out.Tools, tool{
			Name:         ct.Function.Name,
			Description:  ct.Function.Description,
			InputSchema:  schema,
			Strict:       ct.Function.Strict != nil && *ct.Function.Strict,
			CacheControl: ct.CacheControl,
		})
	}
	if servers > 0 {
		if err := uniqueServerToolNames(in); err != nil {
			return err
		}
	}
	if err := t.webSearch(ctx, in, out); err != nil {
		return err
	}

	choice, allowed, err := toolChoiceFrom(in.ToolChoice, &sc.tc)
	if err != nil {
		return err
	}
	if allowed != nil {
		kept := out.Tools[:0]
		for _, tl := range out.Tools {
			// allowed_tools names function tools; server tools stay available.
			if allowed[tl.Name] || tl.Raw != nil {
				kept = append(kept, tl)
			}
		}
		out.Tools = kept
	}
	if choice != nil && choice.Type == "tool" && !hasTool(out.Tools, choice.Name) {
		return apierror.InvalidRequest("tool_choice", "tool_choice names function %q which is not in tools", choice.Name)
	}
	if len(out.Tools) > 0 {
		out.ToolChoice = choice
		if in.ParallelToolCalls != nil && (choice == nil || choice.Type != "none") {
			if out.ToolChoice == nil {
				out.ToolChoice = &toolChoice{Type: "auto"}
			}
			sc.flag = !*in.ParallelToolCalls
			out.ToolChoice.DisableParallelToolUse = &sc.flag
		}
	} else if choice != nil && choice.Type != "none" && choice.Type != "auto" {
		return apierror.InvalidRequest("tool_choice", "tool_choice requires tools")
	}
	return nil
}

func hasTool(tools []tool, name string) bool {
	for _, tl := range tools {
		if tl.Name == name {
			return true
		}
	}
	return false
}

// inputSchema copies parameters verbatim, defaulting a missing schema or a missing type.
func inputSchema(params json.RawMessage) (json.RawMessage, error) {
	params = bytes.TrimSpace(params)
	if len(params) == 0 || string(params) == "null" {
		return emptyObjectSchema, nil
	}
	if params[0] != '{' {
		return nil, fmt.Errorf("parameters must be a JSON Schema object")
	}
	// params is part of a request the strict reader checked whole: keys are unique and exact.
	if jsonstrict.Value(params).Lookup("type") != nil {
		return params, nil
	}
	rest := bytes.TrimSpace(params[1:])
	if len(rest) > 0 && rest[0] == '}' {
		return json.RawMessage(`{"type":"object"}`), nil
	}
	b := make([]byte, 0, len(params)+16)
	b = append(b, `{"type":"object",`...)
	b = append(b, rest...)
	return b, nil
}

// toolChoiceFrom maps OpenAI tool_choice into *dst, which it returns (nil for none); allowed is
// the allowed_tools filter, if any.
func toolChoiceFrom(raw json.RawMessage, dst *toolChoice) (*toolChoice, map[string]bool, *apierror.Error) {
	tc, err := chat.ParseToolChoice(raw)
	if err != nil {
		return nil, nil, err
	}
	switch tc.Kind {
	case "":
		return nil, nil, nil
	case "auto", "none":
		*dst = toolChoice{Type: tc.Kind}
		return dst, nil, nil
	case "required":
		*dst = toolChoice{Type: "any"}
		return dst, nil, nil
	case "function":
		if tc.Name == "" {
			return nil, nil, apierror.InvalidRequest("tool_choice.function.name", "tool_choice function name is required")
		}
		*dst = toolChoice{Type: "tool", Name: tc.Name}
		return dst, nil, nil
	}
	allowed := make(map[string]bool, len(tc.Allowed))
	for _, at := range tc.Allowed {
		allowed[at.Function.Name] = true
	}
	*dst = toolChoice{Type: "auto"}
	if tc.Required {
		dst.Type = "any"
	}
	return dst, allowed, nil
}

// responseFormat maps response_format; it returns the synthetic tool's name when the
// forced-tool fallback is used.
func (t *translator) responseFormat(in *chatRequest, out *messagesRequest, caps ModelCaps, thinkingOn bool) (string, *apierror.Error) {
	rf := in.ResponseFormat
	if rf == nil {
		return "", nil
	}
	var schema json.RawMessage
	switch rf.Type {
	case "", "text":
		return "", nil
	case "json_object":
		schema = json.RawMessage(`{"type":"object","additionalProperties":true}`)
	case "json_schema":
		if rf.JSONSchema == nil || len(bytes.TrimSpace(rf.JSONSchema.Schema)) == 0 {
			return "", apierror.InvalidRequest("response_format.json_schema.schema", "json_schema.schema is required")
		}
		schema = bytes.TrimSpace(rf.JSONSchema.Schema)
		if schema[0] != '{' {
			return "", apierror.InvalidRequest("response_format.json_schema.schema", "json_schema.schema must be an object")
		}
	default:
		return "", apierror.InvalidRequest("response_format.type", "response_format type %q is not supported", rf.Type)
	}
	if caps.StructuredOutput {
		if out.OutputConfig == nil {
			out.OutputConfig = &outputConfig{}
		}
		out.OutputConfig.Format = &jsonFormat{Type: "json_schema", Schema: schema}
		return "", nil
	}
	if thinkingOn {
		return "", apierror.InvalidRequest("response_format", "response_format %s needs native structured outputs when reasoning is on; model %s has none", rf.Type, out.Model)
	}
	if out.ToolChoice != nil && out.ToolChoice.Type != "auto" {
		return "", apierror.InvalidRequest("response_format", "response_format %s cannot be combined with tool_choice on model %s", rf.Type, out.Model)
	}
	if hasTool(out.Tools, jsonToolName) {
		return "", apierror.InvalidRequest("tools", "tool name %q is reserved for response_format on this backend", jsonToolName)
	}
	desc := "Respond with the final answer as this tool's input."
	out.Tools = append(out.Tools, tool{Name: jsonToolName, Description: &desc, InputSchema: schema})
	out.ToolChoice = &toolChoice{Type: "tool", Name: jsonToolName}
	return jsonToolName, nil
}
