package llm

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t testing.TB, r io.Reader, limit int) ([]SSEEvent, error) {
	t.Helper()
	rd := NewSSEReader(r, limit)
	var out []SSEEvent
	for {
		ev, err := rd.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, SSEEvent{Event: ev.Event, Data: bytes.Clone(ev.Data)})
	}
}

func TestSSEReader(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []SSEEvent
	}{
		{"basic", "event: a\ndata: {\"x\":1}\n\n", []SSEEvent{{"a", []byte(`{"x":1}`)}}},
		{"no space and crlf", "event:a\r\ndata:{}\r\n\r\n", []SSEEvent{{"a", []byte(`{}`)}}},
		{"trailing spaces trimmed", "data: {}   \n\n", []SSEEvent{{"", []byte(`{}`)}}},
		{"multi-line data joined", "data: a\ndata: b\n\n", []SSEEvent{{"", []byte("a\nb")}}},
		{"comments and unknown fields ignored", ": hi\nid: 3\nretry: 10\ndata: x\n\n", []SSEEvent{{"", []byte("x")}}},
		{"event without data skipped", "event: ping\n\ndata: y\n\n", []SSEEvent{{"", []byte("y")}}},
		{"final event without blank line", "data: a\n\ndata: b", []SSEEvent{{"", []byte("a")}, {"", []byte("b")}}},
		{"empty", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, err := readAll(t, r, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %d events %q, want %d", len(got), got, len(tc.want))
				}
				for i := range got {
					if got[i].Event != tc.want[i].Event || !bytes.Equal(got[i].Data, tc.want[i].Data) {
						t.Errorf("event %d = %q %q, want %q %q", i, got[i].Event, got[i].Data, tc.want[i].Event, tc.want[i].Data)
					}
				}
			}
		})
	}
}

func TestSSEReaderBounded(t *testing.T) {
	long := "data: " + strings.Repeat("x", 100_000) + "\n\n"
	if _, err := readAll(t, strings.NewReader(long), 1024); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("long line: err %v, want ErrEventTooLarge", err)
	}
	many := strings.Repeat("data: 0123456789\n", 1000) + "\n"
	if _, err := readAll(t, strings.NewReader(many), 1024); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("many lines: err %v, want ErrEventTooLarge", err)
	}
	if _, err := readAll(t, iotest.ErrReader(io.ErrUnexpectedEOF), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reader error not returned: %v", err)
	}
}

func TestSSEWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewSSEWriter(rec)
	if err := w.Data([]byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Error("Data did not flush")
	}
	if err := w.Done(); err != nil {
		t.Fatal(err)
	}
	if got := rec.Body.String(); got != "data: {\"a\":1}\n\ndata: [DONE]\n\n" {
		t.Errorf("wire %q", got)
	}
}

// FuzzSSEReader: any input parses without panicking and no event exceeds the limit.
func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("event: a\ndata: {}\n\n"))
	f.Add([]byte("data:x\r\ndata:y\r\n\r\n: c\n\ndata"))
	f.Add([]byte("\n\n\n\r\r\ndata: \n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 256
		rd := NewSSEReader(bytes.NewReader(in), limit)
		for i := 0; i <= len(in); i++ {
			ev, err := rd.Next()
			if err != nil {
				return
			}
			if len(ev.Data) > limit {
				t.Fatalf("event of %d bytes exceeds the %d limit", len(ev.Data), limit)
			}
		}
		t.Fatal("reader returned more events than input bytes")
	})
}
