package gemini

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// toolChoiceObject is tool_choice as an object: {"type":"function","function":{"name"}} or
// {"type":"allowed_tools","allowed_tools":{"mode","tools":[{"type":"function","function":{"name"}}]}}.
type toolChoiceObject struct {
	Type     string `json:"type"`
	Function *struct {
		Name string `json:"name"`
	} `json:"function"`
	AllowedTools *struct {
		Mode  string `json:"mode"`
		Tools []struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tools"`
	} `json:"allowed_tools"`
}

// tools maps function tools to one Gemini tool of functionDeclarations (parameters as
// parametersJsonSchema, verbatim) and tool_choice to toolConfig.functionCallingConfig:
// auto → AUTO, none → NONE, required → ANY, a named function → ANY limited to it,
// allowed_tools → ANY limited to the list (mode required) or AUTO over only those tools.
// parallel_tool_calls has no Gemini equivalent and is ignored.
func tools(in *chatRequest, out *generateRequest) *apierror.Error {
	var decls []functionDeclaration
	names := map[string]bool{}
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
		out.Tools = []tool{{FunctionDeclarations: decls}}
	}
	if mode != "" && len(decls) > 0 {
		out.ToolConfig = &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: mode}}
		for _, d := range decls {
			if allowed[d.Name] {
				out.ToolConfig.FunctionCallingConfig.AllowedFunctionNames = append(out.ToolConfig.FunctionCallingConfig.AllowedFunctionNames, d.Name)
			}
		}
	}
	return nil
}

func toolChoice(raw json.RawMessage, names map[string]bool) (mode string, allowed map[string]bool, err *apierror.Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil, nil
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "auto":
			return "AUTO", nil, nil
		case "none":
			return "NONE", nil, nil
		case "required":
			if len(names) == 0 {
				return "", nil, apierror.InvalidRequest("tool_choice", "tool_choice \"required\" needs tools")
			}
			return "ANY", nil, nil
		}
		return "", nil, apierror.InvalidRequest("tool_choice", "tool_choice %q is not supported (auto, none, required, or an object)", truncateRunes(s, 64))
	}
	var o toolChoiceObject
	if json.Unmarshal(raw, &o) != nil {
		return "", nil, apierror.InvalidRequest("tool_choice", "tool_choice must be a string or an object")
	}
	switch o.Type {
	case "function":
		if o.Function == nil || !names[o.Function.Name] {
			return "", nil, apierror.InvalidRequest("tool_choice.function.name", "tool_choice names a function that is not in tools")
		}
		return "ANY", map[string]bool{o.Function.Name: true}, nil
	case "allowed_tools":
		if o.AllowedTools == nil {
			return "", nil, apierror.InvalidRequest("tool_choice.allowed_tools", "allowed_tools is missing")
		}
		allowed = map[string]bool{}
		for i, t := range o.AllowedTools.Tools {
			if t.Type != "function" || !names[t.Function.Name] {
				return "", nil, apierror.InvalidRequest("tool_choice.allowed_tools.tools["+strconv.Itoa(i)+"]", "allowed tool is not a function in tools")
			}
			allowed[t.Function.Name] = true
		}
		switch o.AllowedTools.Mode {
		case "required":
			return "ANY", allowed, nil
		case "auto", "":
			return "AUTO", allowed, nil
		}
		return "", nil, apierror.InvalidRequest("tool_choice.allowed_tools.mode", "allowed_tools mode must be auto or required")
	}
	return "", nil, apierror.InvalidRequest("tool_choice.type", "tool_choice type %q is not supported", truncateRunes(o.Type, 64))
}
