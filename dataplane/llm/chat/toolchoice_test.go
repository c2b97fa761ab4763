package chat

import (
	"reflect"
	"testing"
)

func TestParseToolChoice(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      ToolChoice
		wantParam string
	}{
		{``, ToolChoice{}, ""},
		{` null `, ToolChoice{}, ""},
		{`"auto"`, ToolChoice{Kind: "auto"}, ""},
		{`"required"`, ToolChoice{Kind: "required"}, ""},
		{`"any"`, ToolChoice{}, "tool_choice"},
		{`42`, ToolChoice{}, "tool_choice"},
		{`{"type":"function","function":{"name":"f"}}`, ToolChoice{Kind: "function", Name: "f"}, ""},
		{`{"type":"function"}`, ToolChoice{Kind: "function"}, ""},
		{`{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"g"}}]}}`,
			ToolChoice{Kind: "allowed_tools", Required: true, Allowed: []AllowedTool{{Type: "function", Function: struct {
				Name string `json:"name"`
			}{"g"}}}}, ""},
		{`{"type":"allowed_tools"}`, ToolChoice{}, "tool_choice.allowed_tools"},
		{`{"type":"allowed_tools","allowed_tools":{"mode":"sometimes"}}`, ToolChoice{}, "tool_choice.allowed_tools.mode"},
		{`{"type":"custom"}`, ToolChoice{}, "tool_choice.type"},
	} {
		got, err := ParseToolChoice([]byte(tc.in))
		param := ""
		if err != nil {
			param = err.Param
		}
		if param != tc.wantParam || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v (error at %q), want %+v (error at %q)", tc.in, got, param, tc.want, tc.wantParam)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("héllo", 2); got != "hé…" {
		t.Errorf("Truncate: %q", got)
	}
	if got := Truncate("a\xffb", 5); got != "a\uFFFDb" {
		t.Errorf("Truncate of invalid UTF-8: %q", got)
	}
}
