package manifest

import (
	"strconv"
	"strings"
)

// ValueAt is the value at a field path in the API server's notation (spec.rules[0].name,
// metadata.annotations[example.com/x]) in decoded content, and whether it is there. Keys
// holding dots match as FieldPos matches them: the longest key that fits.
func ValueAt(v any, path string) (any, bool) {
	path = strings.TrimPrefix(path, ".")
	for path != "" {
		switch t := v.(type) {
		case []any:
			if path[0] != '[' {
				return nil, false
			}
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return nil, false
			}
			i, err := strconv.Atoi(path[1:end])
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v, path = t[i], strings.TrimPrefix(path[end+1:], ".")
		case map[string]any:
			if path[0] == '[' {
				end := strings.IndexByte(path, ']')
				if end < 0 {
					return nil, false
				}
				e, ok := t[path[1:end]]
				if !ok {
					return nil, false
				}
				v, path = e, strings.TrimPrefix(path[end+1:], ".")
				continue
			}
			best := ""
			for k := range t {
				if len(k) <= len(best) || !strings.HasPrefix(path, k) {
					continue
				}
				if len(path) == len(k) || path[len(k)] == '.' || path[len(k)] == '[' {
					best = k
				}
			}
			if best == "" {
				return nil, false
			}
			v, path = t[best], strings.TrimPrefix(path[len(best):], ".")
		default:
			return nil, false
		}
	}
	return v, true
}
