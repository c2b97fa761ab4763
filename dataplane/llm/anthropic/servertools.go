package anthropic

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/jsonstrict"
	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// Anthropic server tools (web search, web fetch, code execution, …) run on Anthropic's side:
// the client never executes them, and their blocks in the response are not tool calls.

// webSearchToolName is the name Anthropic requires for its web_search tool.
const webSearchToolName = "web_search"

// webSearchMaxUses maps search_context_size to max_uses, as LiteLLM does
// (litellm/constants.py ANTHROPIC_WEB_SEARCH_TOOL_MAX_USES).
var webSearchMaxUses = map[string]int{"low": 1, "medium": 5, "high": 10}

// newServerToolSet normalises Config.ServerTools; nil when none are allowed.
func newServerToolSet(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	set := make(map[string]bool, len(list))
	for _, t := range list {
		if t = strings.TrimSpace(t); t != "" {
			set[t] = true
		}
	}
	return set
}

// serverTool passes tools[i], a non-function tool, through verbatim when its type is an
// allowed server tool; anything else is a 400 naming tools[i].type.
func (t *translator) serverTool(i int, ct *chatTool, out *messagesRequest) *apierror.Error {
	if !t.serverTools[ct.Type] {
		msg := fmt.Sprintf("tool type %q is not supported; only function tools are", ct.Type)
		if len(t.serverTools) > 0 {
			names := make([]string, 0, len(t.serverTools))
			for n := range t.serverTools {
				names = append(names, n)
			}
			sort.Strings(names)
			msg = fmt.Sprintf("tool type %q is not supported; this backend accepts function tools and the Anthropic server tools %s", ct.Type, strings.Join(names, ", "))
		}
		return apierror.InvalidRequest(fmt.Sprintf("tools[%d].type", i), "%s", msg)
	}
	if ct.Name == "" {
		return apierror.InvalidRequest(fmt.Sprintf("tools[%d].name", i), "server tool %s needs a name (the Anthropic tool object is sent as it is)", ct.Type)
	}
	if err := checkServerTool(i, jsonstrict.Value(ct.Raw)); err != nil {
		return err
	}
	out.Tools = append(out.Tools, tool{Name: ct.Name, Raw: ct.Raw})
	return nil
}

// uniqueServerToolNames reports a server tool whose name another tool also uses (Anthropic
// rejects duplicate tool names). Only run when the request has server tools.
func uniqueServerToolNames(in *chatRequest) *apierror.Error {
	for i := range in.Tools {
		if in.Tools[i].Raw == nil {
			continue
		}
		for j := range in.Tools {
			if j == i {
				continue
			}
			other := in.Tools[j].Name
			if f := in.Tools[j].Function; in.Tools[j].Raw == nil && f != nil {
				other = f.Name
			}
			if other == in.Tools[i].Name {
				return apierror.InvalidRequest(fmt.Sprintf("tools[%d].name", max(i, j)), "tool name %q is used by more than one tool", other)
			}
		}
	}
	return nil
}

// webSearch maps web_search_options to Anthropic's web_search server tool when the backend
// enables it (LiteLLM's mapping); otherwise the option is ignored.
func (t *translator) webSearch(ctx context.Context, in *chatRequest, out *messagesRequest) *apierror.Error {
	o := in.WebSearchOptions
	if o == nil {
		return nil
	}
	if !t.webSearchOn {
		t.log.DebugContext(ctx, "web_search_options ignored: web search is not enabled on this backend")
		return nil
	}
	for _, tl := range out.Tools {
		if tl.Name != webSearchToolName {
			continue
		}
		if tl.Raw != nil { // the client sent the server tool itself: it wins
			return nil
		}
		return apierror.InvalidRequest("web_search_options", "web_search_options adds Anthropic's %s tool, which conflicts with the function tool of the same name", webSearchToolName)
	}
	b := make([]byte, 0, 160)
	b = append(b, `{"type":"web_search_20250305","name":"web_search"`...)
	if o.SearchContextSize != "" {
		n, ok := webSearchMaxUses[o.SearchContextSize]
		if !ok {
			return apierror.InvalidRequest("web_search_options.search_context_size", "search_context_size %q is not one of low, medium, high", o.SearchContextSize)
		}
		b = append(b, `,"max_uses":`...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	if ul := o.UserLocation; ul != nil {
		if ul.Type != "" && ul.Type != "approximate" {
			return apierror.InvalidRequest("web_search_options.user_location.type", "user_location type %q is not supported; use approximate", ul.Type)
		}
		if a := ul.Approximate; a != nil {
			b = append(b, `,"user_location":{"type":"approximate"`...)
			for _, f := range []struct{ name, v string }{{"city", a.City}, {"region", a.Region}, {"country", a.Country}, {"timezone", a.Timezone}} {
				v := strings.TrimSpace(f.v)
				if v == "" {
					continue // Anthropic rejects empty strings; absent means unknown
				}
				param := "web_search_options.user_location.approximate." + f.name
				if f.name == "country" && len(v) != 2 {
					return apierror.InvalidRequest(param, "country must be a two-letter ISO 3166-1 code")
				}
				if utf8.RuneCountInString(v) > 255 {
					return apierror.InvalidRequest(param, "%s must be at most 255 characters", f.name)
				}
				b = append(b, `,"`...)
				b = append(b, f.name...)
				b = append(b, `":`...)
				b = jsonvalue.AppendStringNoHTML(b, v)
			}
			b = append(b, '}')
		}
	}
	b = append(b, '}')
	out.Tools = append(out.Tools, tool{Name: webSearchToolName, Raw: b})
	return nil
}
