package chat

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// ToolChoice is OpenAI's tool_choice as the client wrote it, not yet checked against the
// request's tools: what a forced or limited choice may name is the provider's rule.
type ToolChoice struct {
	// Kind is "" (absent or null), "auto", "none", "required", "function" or "allowed_tools".
	Kind string
	// Name is the function of Kind "function" ("" when the object has none).
	Name string
	// Allowed are the tools of Kind "allowed_tools"; Required is its mode "required" (else
	// "auto").
	Allowed  []AllowedTool
	Required bool
}

// AllowedTool is one entry of allowed_tools.tools.
type AllowedTool struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// ToolChoiceObject is tool_choice as an object (the type a strict key schema reads it as): {"type":"function","function":{"name"}} or
// {"type":"allowed_tools","allowed_tools":{"mode","tools":[{"type":"function","function":{"name"}}]}}.
type ToolChoiceObject struct {
	Type     string `json:"type"`
	Function *struct {
		Name string `json:"name"`
	} `json:"function"`
	AllowedTools *struct {
		Mode  string        `json:"mode"`
		Tools []AllowedTool `json:"tools"`
	} `json:"allowed_tools"`
}

// ParseToolChoice reads tool_choice; a value of neither form, an unknown string, type or
// allowed_tools mode is a 400 naming the parameter.
func ParseToolChoice(raw json.RawMessage) (ToolChoice, *apierror.Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ToolChoice{}, nil
	}
	if raw[0] == '"' {
		// The usual values, without escapes, need no decoding (raw is a valid literal).
		if lit := raw[1:]; len(lit) > 0 && bytes.IndexByte(lit, '\\') < 0 {
			lit = lit[:len(lit)-1]
			switch string(lit) {
			case "auto":
				return ToolChoice{Kind: "auto"}, nil
			case "none":
				return ToolChoice{Kind: "none"}, nil
			case "required":
				return ToolChoice{Kind: "required"}, nil
			}
		}
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "auto", "none", "required":
			return ToolChoice{Kind: s}, nil
		}
		return ToolChoice{}, apierror.InvalidRequest("tool_choice", "tool_choice %q is not one of auto, none, required", Truncate(s, 64))
	}
	var o ToolChoiceObject
	if json.Unmarshal(raw, &o) != nil {
		return ToolChoice{}, apierror.InvalidRequest("tool_choice", "tool_choice must be a string or an object")
	}
	switch o.Type {
	case "function":
		tc := ToolChoice{Kind: "function"}
		if o.Function != nil {
			tc.Name = o.Function.Name
		}
		return tc, nil
	case "allowed_tools":
		if o.AllowedTools == nil {
			return ToolChoice{}, apierror.InvalidRequest("tool_choice.allowed_tools", "allowed_tools is required")
		}
		tc := ToolChoice{Kind: "allowed_tools", Allowed: o.AllowedTools.Tools}
		switch o.AllowedTools.Mode {
		case "required":
			tc.Required = true
		case "auto", "":
		default:
			return ToolChoice{}, apierror.InvalidRequest("tool_choice.allowed_tools.mode", "mode %q is not auto or required", Truncate(o.AllowedTools.Mode, 64))
		}
		return tc, nil
	}
	return ToolChoice{}, apierror.InvalidRequest("tool_choice.type", "tool_choice type %q is not supported", Truncate(o.Type, 64))
}

// Truncate cuts a client's value to at most n runes (invalid UTF-8 replaced) for an error
// message, marking the cut.
func Truncate(s string, n int) string {
	r := []rune(strings.ToValidUTF8(s, "\uFFFD"))
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}
