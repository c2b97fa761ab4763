package server

import (
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/infergw/gwctl/pkg/fastpath"
	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// fastAccess turns the hand-written access line on (GWCTL_NOFAST=accesslog: slog writes it).
var fastAccess = fastpath.Enabled(fastpath.AccessLog)

// jsonAccess is the handler of NewJSONAccessLog: slog's JSON handler, whose lines the server
// writes itself for its access lines (appendAccessLine), byte for byte as slog would.
type jsonAccess struct {
	*slog.JSONHandler
	w io.Writer
}

// NewJSONAccessLog returns an access logger (Options.AccessLog) writing JSON lines to w at
// level, as slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})) does. The
// server encodes its access lines for it directly: slog's handler spends most of the server's
// own time per request on them (each attribute goes through Value.Resolve and its kind switch,
// the float through encoding/json).
func NewJSONAccessLog(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(&jsonAccess{JSONHandler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}), w: w})
}

// accessRecord is the request's access line as a slog record.
func accessRecord(t time.Time, r *http.Request, rec *recorder, status int, d time.Duration) slog.Record {
	line := slog.NewRecord(t, slog.LevelInfo, "request", 0)
	line.AddAttrs(
		slog.String("method", r.Method),
		slog.String("host", r.Host),
		slog.String("path", r.URL.Path),
		slog.String("proto", r.Proto),
		slog.Int("status", status),
		slog.String("route", rec.route),
		slog.String("backend", rec.backend),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.Int64("bytes", rec.bytes),
		slog.String("remote", r.RemoteAddr),
		slog.String("request_id", r.Header.Get("X-Request-Id")),
	)
	line.AddAttrs(rec.attrs...)
	return line
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeAccessLine writes the request's line to j's writer and reports true, or false (nothing
// written) when one of its values is of a kind the fast encoder leaves to slog.
func (j *jsonAccess) writeAccessLine(t time.Time, r *http.Request, rec *recorder, status int, d time.Duration) bool {
	bp := lineBufs.Get().(*[]byte)
	b, ok := appendAccessLine((*bp)[:0], t, r, rec, status, d)
	if ok {
		_, _ = j.w.Write(b)
	}
	if cap(b) <= 64<<10 {
		*bp = b
		lineBufs.Put(bp)
	}
	return ok
}

// appendAccessLine appends the line slog.JSONHandler writes for accessLine's record.
func appendAccessLine(b []byte, t time.Time, r *http.Request, rec *recorder, status int, d time.Duration) ([]byte, bool) {
	b = append(b, `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","method":`...)
	ok := true
	str := func(key, v string) {
		b = append(b, key...)
		b, ok = appendJSONString(b, v, ok)
	}
	str("", r.Method)
	str(`,"host":`, r.Host)
	str(`,"path":`, r.URL.Path)
	str(`,"proto":`, r.Proto)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	str(`,"route":`, rec.route)
	str(`,"backend":`, rec.backend)
	b = append(b, `,"duration_ms":`...)
	b = appendJSONFloat(b, float64(d.Microseconds())/1000)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, rec.bytes, 10)
	str(`,"remote":`, r.RemoteAddr)
	str(`,"request_id":`, r.Header.Get("X-Request-Id"))
	for _, a := range rec.attrs {
		if a.Key == "" {
			return b, false // slog elides some empty attributes
		}
		b = append(b, ',')
		b, ok = appendJSONString(b, a.Key, ok)
		b = append(b, ':')
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			b, ok = appendJSONString(b, v.String(), ok)
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindUint64:
			b = strconv.AppendUint(b, v.Uint64(), 10)
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		case slog.KindFloat64:
			f := v.Float64()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return b, false
			}
			b = appendJSONFloat(b, f)
		default:
			return b, false
		}
	}
	return append(b, "}\n"...), ok
}

// appendJSONString appends s quoted as slog does (encoding/json's escapes with HTML left as
// it is); ok turns false for \b and \f, which slog writes as \u0008 and \u000c, not as
// jsonvalue does.
func appendJSONString(b []byte, s string, ok bool) ([]byte, bool) {
	// A byte loop: strings.ContainsAny on a short string calls IndexRune on its set for each
	// byte, a tenth of the server's own time per request.
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\b' || c == '\f' {
			ok = false
			break
		}
	}
	return jsonvalue.AppendStringNoHTML(b, s), ok
}

// appendJSONFloat appends f as encoding/json's Marshal does (slog calls it for floats).
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
