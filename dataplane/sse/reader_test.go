package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads every event of r, with Next or (block) NextBlock, copying each.
func readAll(t testing.TB, r io.Reader, limit int, block bool) ([]Event, error) {
	t.Helper()
	rd := NewReader(r, limit)
	defer rd.Release()
	var out []Event
	for {
		next := rd.Next
		if block {
			next = rd.NextBlock
		}
		ev, err := next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		ev.Data = bytes.Clone(ev.Data)
		out = append(out, ev)
	}
}

func show(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "{name %q data %q id %q %v retry %q} ", e.Name, e.Data, e.ID, e.HasID, e.Retry)
	}
	return b.String()
}

func TestReader(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		next      []Event // what Next returns (a consumer)
		nextBlock []Event // what NextBlock returns (a relay)
	}{
		{"basic", "event: a\ndata: {\"x\":1}\n\n",
			[]Event{{Name: "a", Data: []byte(`{"x":1}`)}}, nil},
		{"no space and crlf", "event:a\r\ndata:{}\r\n\r\n",
			[]Event{{Name: "a", Data: []byte(`{}`)}}, nil},
		{"trailing blanks trimmed for a consumer, kept for a relay", "data: {}  \t\n\n",
			[]Event{{Data: []byte(`{}`)}}, []Event{{Data: []byte("{}  \t")}}},
		{"only one leading space removed", "data:  x\n\n",
			[]Event{{Data: []byte(" x")}}, nil},
		{"multi-line data joined", "data: a\ndata: b\n\n",
			[]Event{{Data: []byte("a\nb")}}, nil},
		{"comments and unknown fields ignored; id and retry read by a relay", ": hi\nid: 3\nretry: 10\nfoo: bar\ndata: x\n\n",
			[]Event{{Data: []byte("x")}}, []Event{{ID: "3", HasID: true, Retry: "10", Data: []byte("x")}}},
		{"empty id is an id", "id:\ndata: x\n\n",
			[]Event{{Data: []byte("x")}}, []Event{{HasID: true, Data: []byte("x")}}},
		{"id with NUL ignored", "id: a\x00b\ndata: x\n\n",
			[]Event{{Data: []byte("x")}}, []Event{{Data: []byte("x")}}},
		{"block without data: skipped by a consumer, relayed by a relay", "event: ping\n\nid: 7\n\nretry: 5000\n\ndata: y\n\n",
			[]Event{{Data: []byte("y")}},
			[]Event{{Name: "ping"}, {ID: "7", HasID: true}, {Retry: "5000"}, {Data: []byte("y")}}},
		{"empty data line is an event", "data:\n\n",
			[]Event{{}}, nil},
		{"the name does not carry over", "event: a\ndata: 1\n\ndata: 2\n\n",
			[]Event{{Name: "a", Data: []byte("1")}, {Data: []byte("2")}}, nil},
		{"final event without blank line", "data: a\n\ndata: b",
			[]Event{{Data: []byte("a")}, {Data: []byte("b")}}, nil},
		{"final field without data at EOF", "data: a\n\nid: 9",
			[]Event{{Data: []byte("a")}}, []Event{{Data: []byte("a")}, {ID: "9", HasID: true}}},
		{"blank lines only", "\n\r\n\n", nil, nil},
		{"empty", "", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, block := range []bool{false, true} {
				want := tc.next
				if block && tc.nextBlock != nil {
					want = tc.nextBlock
				}
				for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
					got, err := readAll(t, r, 0, block)
					if err != nil {
						t.Fatal(err)
					}
					if show(got) != show(want) {
						t.Fatalf("block=%v: got  %s\nwant %s", block, show(got), show(want))
					}
				}
			}
		})
	}
}

func TestReaderBounded(t *testing.T) {
	long := "data: " + strings.Repeat("x", 100_000) + "\n\n"
	many := strings.Repeat("data: 0123456789\n", 1000) + "\n"
	for _, block := range []bool{false, true} {
		if _, err := readAll(t, strings.NewReader(long), 1024, block); !errors.Is(err, ErrEventTooLarge) {
			t.Errorf("long line: err %v, want ErrEventTooLarge", err)
		}
		if _, err := readAll(t, strings.NewReader(many), 1024, block); !errors.Is(err, ErrEventTooLarge) {
			t.Errorf("many lines: err %v, want ErrEventTooLarge", err)
		}
		if _, err := readAll(t, iotest.ErrReader(io.ErrUnexpectedEOF), 0, block); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("reader error not returned: %v", err)
		}
	}
}

func TestReaderReleased(t *testing.T) {
	rd := NewReader(strings.NewReader("data: 1\n\ndata: 2\n\n"), 0)
	ev, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	rd.Release()
	rd.Release()
	if string(ev.Data) != "1" {
		t.Errorf("Data after Release = %q", ev.Data)
	}
	if _, err := rd.Next(); !errors.Is(err, ErrReaderReleased) {
		t.Errorf("Next after Release: %v", err)
	}
}

// TestReaderAllocs: reading a stream allocates nothing per event once the reader's buffers have
// grown, for a consumer and for a relay (an event name that repeats is not copied again).
func TestReaderAllocs(t *testing.T) {
	var stream bytes.Buffer
	for i := range 100 {
		fmt.Fprintf(&stream, "event: message\ndata: {\"n\":%d}\n\n", i)
	}
	for _, block := range []bool{false, true} {
		rd := NewReader(nil, 0)
		src := bytes.NewReader(nil)
		allocs := testing.AllocsPerRun(20, func() {
			src.Reset(stream.Bytes())
			rd.src.r = src
			for {
				next := rd.Next
				if block {
					next = rd.NextBlock
				}
				if _, err := next(); err != nil {
					return
				}
			}
		})
		if allocs != 0 {
			t.Errorf("block=%v: %v allocations for 100 events", block, allocs)
		}
		rd.Release()
	}
}

// FuzzReader: any input parses without panicking, no event exceeds the limit, and a relay sees
// every event a consumer sees, in order, with the same name and the same data but for the blanks
// a consumer trims.
func FuzzReader(f *testing.F) {
	f.Add([]byte("event: a\ndata: {}\n\n"))
	f.Add([]byte("data:x\r\ndata:y \r\n\r\n: c\n\ndata"))
	f.Add([]byte("\n\n\n\r\r\ndata: \n\nid: 1\nretry: 2\n\nevent: e\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 256
		var evs [2][]Event
		for i, block := range []bool{false, true} {
			got, err := readAll(t, bytes.NewReader(in), limit, block)
			if err != nil {
				if !errors.Is(err, ErrEventTooLarge) {
					t.Fatal(err)
				}
				return
			}
			if len(got) > len(in) {
				t.Fatalf("%d events from %d bytes", len(got), len(in))
			}
			for _, ev := range got {
				if len(ev.Data) > limit {
					t.Fatalf("event of %d bytes exceeds the %d limit", len(ev.Data), limit)
				}
			}
			evs[i] = got
		}
		relay := evs[1]
		for _, ev := range evs[0] {
			for len(relay) > 0 && (relay[0].Name != ev.Name || !bytes.Equal(trimLines(relay[0].Data), ev.Data)) {
				relay = relay[1:]
			}
			if len(relay) == 0 {
				t.Fatalf("the relay missed %s: consumer %s, relay %s", show([]Event{ev}), show(evs[0]), show(evs[1]))
			}
			relay = relay[1:]
		}
	})
}

func trimLines(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, " \t")
	}
	return bytes.Join(lines, []byte("\n"))
}

func BenchmarkReader(b *testing.B) {
	var stream bytes.Buffer
	for i := range 64 {
		fmt.Fprintf(&stream, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word %d \"},\"finish_reason\":null}]}\n\n", i)
	}
	for _, block := range []bool{false, true} {
		b.Run(fmt.Sprintf("block=%v", block), func(b *testing.B) {
			b.SetBytes(int64(stream.Len()))
			b.ReportAllocs()
			src := bytes.NewReader(nil)
			for b.Loop() {
				src.Reset(stream.Bytes())
				rd := NewReader(src, 0)
				next := rd.Next
				if block {
					next = rd.NextBlock
				}
				for {
					if _, err := next(); err != nil {
						break
					}
				}
				rd.Release()
			}
		})
	}
}
