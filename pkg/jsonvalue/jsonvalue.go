// Package jsonvalue writes JSON byte for byte as encoding/json.Marshal does, without reflection,
// for decoded manifest values and for the strings of gwctl's own reports.
package jsonvalue

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/infergw/gwctl/pkg/fastpath"
)

// Append appends the JSON encoding of a decoded manifest value (map[string]any, []any, string,
// bool, int64, float64, nil) to b, byte for byte as encoding/json.Marshal writes it: sorted
// keys, HTML-safe escapes, the same number forms. Other types are an error.
func Append(b []byte, v any) ([]byte, error) {
	if !fast {
		j, err := json.Marshal(v)
		return append(b, j...), err
	}
	return appendValue(b, v)
}

// fast is false under GWCTL_NOFAST=jsonvalue: Append and AppendString then call encoding/json.
var fast = fastpath.Enabled(fastpath.JSONValue)

func appendValue(b []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case string:
		return appendString(b, t, &htmlSafe), nil
	case int64:
		return strconv.AppendInt(b, t, 10), nil
	case float64:
		return AppendFloat(b, t)
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k, &htmlSafe)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, t[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	return b, fmt.Errorf("json: unsupported type: %T", v)
}

// AppendFloat is encoding/json's float64 encoder.
func AppendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}
