package gemini

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/llm/chat"
	"github.com/infergw/gwctl/dataplane/llm/scratch"
)

// tools maps function tools to one Gemini tool of functionDeclarations (parameters as
// parametersJsonSchema, verbatim) and tool_choice to toolConfig.functionCallingConfig:
// auto → AUTO, none → NONE, required → ANY, a named function → ANY limited to it,
// allowed_tools → ANY limited to the list (mode required) or AUTO over only those tools.
// parallel_tool_calls has no Gemini equivalent and is ignored.
func tools(in *chatRequest, out *generateRequest, sc *reqScratch) *apierror.Error {
	decls := scratch.Slice(&sc.decls, len(in.Tools))
	names := sc.toolNames
	for i, t := range in.Tools {
		p := "tools[" + strconv.Itoa(i) + "]"
		if t.Type != "function" || t.Function == nil {
			return apierror.InvalidRequest(p+".type", "tool type %q is not supported by the Gemini backend (function tools only)", truncateRunes(t.Type, 64))
		}
		f := t.Function
		if f.Name == "" {
			return apierror.InvalidRequest(p+".function.name", "a function tool needs a name")
		}
		if names[f.Name] {
			return apierror.InvalidRequest(p+".function.name", "duplicate function name %q", truncateRunes(f.Name, 64))
		}
		names[f.Name] = true
		d := functionDeclaration{Name: f.Name}
		if f.Description != nil {
			d.Description = *f.Description
		}
		if params := bytes.TrimSpace(f.Parameters); len(params) > 0 && string(params) != "null" {
			if params[0] != '{' {
				return apierror.InvalidRequest(p+".function.parameters", "parameters must be a JSON Schema object")
			}
			d.ParametersJSONSchema = params
		}
		decls = append(decls, d)
	}
	mode, allowed, err := toolChoice(in.ToolChoice, names)
	if err != nil {
		return err
	}
	if mode == "AUTO" && allowed != nil { // allowed_tools in auto mode: offer only those
		kept := decls[:0]
		for _, d := range decls {
			if allowed[d.Name] {
				kept = append(kept, d)
			}
		}
		decls, allowed = kept, nil
	}
	if len(decls) > 0 {
		sc.tool[0] = tool{FunctionDeclarations: decls}
		out.Tools = sc.tool[:]
	}
	if mode != "" && len(decls) > 0 {
		sc.toolCfg = toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: mode}}
		out.ToolConfig = &sc.toolCfg
		for _, d := range decls {
			if allowed[d.Name] {
				out.ToolConfig.FunctionCallingConfig.AllowedFunctionNames = append(out.ToolConfig.FunctionCallingConfig.AllowedFunctionNames, d.Name)
			}
		}
	}
	return nil
}

// toolChoice maps tool_choice to a functionCallingConfig mode and the functions it is limited
// to; a function it names must be one of the tools (names).
func toolChoice(raw json.RawMessage, names map[string]bool) (mode string, allowed map[string]bool, err *apierror.Error) {
	tc, err := chat.ParseToolChoice(raw)
	if err != nil {
		return "", nil, err
	}
	switch tc.Kind {
	case "":
		return "", nil, nil
	case "auto":
		return "AUTO", nil, nil
	case "none":
		return "NONE", nil, nil
	case "required":
		if len(names) == 0 {
			return "", nil, apierror.InvalidRequest("tool_choice", "tool_choice \"required\" needs tools")
		}
		return "ANY", nil, nil
	case "function":
		if !names[tc.Name] {
			return "", nil, apierror.InvalidRequest("tool_choice.function.name", "tool_choice names a function that is not in tools")
		}
		return "ANY", map[string]bool{tc.Name: true}, nil
	}
	allowed = make(map[string]bool, len(tc.Allowed))
	for i, t := range tc.Allowed {
		if t.Type != "function" || !names[t.Function.Name] {
			return "", nil, apierror.InvalidRequest("tool_choice.allowed_tools.tools["+strconv.Itoa(i)+"]", "allowed tool is not a function in tools")
		}
		allowed[t.Function.Name] = true
	}
	if tc.Required {
		return "ANY", allowed, nil
	}
	return "AUTO", allowed, nil
}
