package epp

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// blockResult is what one header block decoded to, or the error that ended its stream or the
// connection.
type blockResult struct {
	fields           []hpack.HeaderField
	ended, truncated bool
	err              string
}

// framerBlocks decodes the header blocks of frames as http2.Framer's ReadMetaHeaders does.
func framerBlocks(frames []byte, max uint32) []blockResult {
	fr := http2.NewFramer(nil, bytes.NewReader(frames))
	fr.MaxHeaderListSize = max
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var out []blockResult
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			if _, ok := errors.AsType[http2.StreamError](err); ok {
				out = append(out, blockResult{err: err.Error()})
				continue
			}
			return append(out, blockResult{err: err.Error()})
		}
		if mh, ok := f.(*http2.MetaHeadersFrame); ok {
			out = append(out, blockResult{fields: append([]hpack.HeaderField(nil), mh.Fields...), ended: mh.StreamEnded(), truncated: mh.Truncated})
		}
	}
}

// fieldBlocks decodes them as the client's reader does.
func fieldBlocks(frames []byte, max uint32) []blockResult {
	fr := http2.NewFramer(nil, bytes.NewReader(frames))
	fr.MaxHeaderListSize = max
	fr.SetReuseFrames()
	hb := newH2FieldBlock(max)
	var out []blockResult
	for {
		f, err := fr.ReadFrame()
		done := false
		if err == nil {
			switch f := f.(type) {
			case *http2.HeadersFrame:
				hb.start(f)
				done, err = hb.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
			case *http2.ContinuationFrame:
				done, err = hb.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
			}
		}
		if err != nil {
			if _, ok := errors.AsType[http2.StreamError](err); ok {
				out = append(out, blockResult{err: err.Error()})
				continue
			}
			return append(out, blockResult{err: err.Error()})
		}
		if done {
			out = append(out, blockResult{fields: append([]hpack.HeaderField(nil), hb.fields...), ended: hb.ended, truncated: hb.truncated})
		}
	}
}

// headerFrames is two header blocks on stream 1: the first split in a HEADERS and a
// CONTINUATION at split, the second in one HEADERS (sharing the first's hpack table).
func headerFrames(first []byte, split int, second []byte, endStream bool) []byte {
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	split = min(max(split, 0), len(first))
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first[:split], EndHeaders: split == len(first)})
	if split < len(first) {
		_ = fr.WriteContinuation(1, true, first[split:])
	}
	if second != nil {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: second, EndHeaders: true, EndStream: endStream})
	}
	return b.Bytes()
}

func fieldBlockCases() []struct {
	name          string
	first, second []byte
	split         int
	max           uint32
	want          string // in the results
} {
	hb := headerBlock
	var many []string
	for i := range 60 {
		many = append(many, fmt.Sprintf("x-h%02d", i), "vv")
	}
	return []struct {
		name          string
		first, second []byte
		split         int
		max           uint32
		want          string
	}{
		{"response headers and trailers", hb(":status", "200", "content-type", "application/grpc"), hb("grpc-status", "0", "grpc-message", "ok%20then"), 3, h2MaxHeaderList, "ok%20then"},
		{"trailers only", hb(":status", "200", "grpc-status", "14"), nil, 100, h2MaxHeaderList, "Value:14"},
		{"truncated", hb(":status", "200", "x-big", strings.Repeat("v", 50)), nil, 2, 100, "truncated:true"},
		{"a trailer header counted its own way", hb(":status", "200", "trailer", "a,b,c,d"), nil, 0, 120, "truncated:true"},
		{"upper-case name", hb(":status", "200", "X-Upper", "v"), hb("grpc-status", "0"), 100, h2MaxHeaderList, "invalid header field name"},
		{"pseudo after regular", hb("content-type", "x", ":status", "200"), hb("grpc-status", "0"), 1, h2MaxHeaderList, "pseudo header field after regular"},
		{"invalid value", hb(":status", "200", "x", "a\x00b"), nil, 100, h2MaxHeaderList, "invalid header field value"},
		{"unknown pseudo-header", hb(":status", "200", ":foo", "1"), nil, 100, h2MaxHeaderList, "invalid pseudo-header"},
		{"duplicate pseudo-header", hb(":status", "200", ":status", "204"), hb("grpc-status", "0"), 100, h2MaxHeaderList, "duplicate pseudo-header"},
		{"request and response pseudo-headers", hb(":status", "200", ":path", "/"), nil, 100, h2MaxHeaderList, "mix of request and response"},
		{"a CONTINUATION after an invalid field", hb(":status", "200", "x", "\x01", "y", "z"), nil, 12, h2MaxHeaderList, "PROTOCOL_ERROR"},
		{"broken hpack", []byte{0xff, 0xff, 0xff, 0xff}, nil, 100, h2MaxHeaderList, "COMPRESSION_ERROR"},
		{"an index past the table", []byte{0xbf}, nil, 100, h2MaxHeaderList, "COMPRESSION_ERROR"},
		{"a fragment over twice the budget", hb(many...), nil, 1000, 64, "PROTOCOL_ERROR"},
	}
}

// The reader's header blocks decode to what http2.Framer's ReadMetaHeaders decodes: the same
// fields, truncation and END_STREAM, and the same stream and connection errors.
func TestHeaderBlockMatchesFramer(t *testing.T) {
	for _, tc := range fieldBlockCases() {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkFieldBlocks(t, headerFrames(tc.first, tc.split, tc.second, true), tc.max); !strings.Contains(got, tc.want) {
				t.Errorf("decoded %s, want %q in it", got, tc.want)
			}
		})
	}
}

func checkFieldBlocks(t *testing.T, frames []byte, max uint32) string {
	t.Helper()
	want := framerBlocks(frames, max)
	got := fieldBlocks(frames, max)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, the framer %+v", got, want)
	}
	return fmt.Sprintf("%+v", got)
}

// FuzzHeaderBlock: the reader's header blocks decode as the framer's ReadMetaHeaders decodes
// them (corpus in testdata/fuzz).
func FuzzHeaderBlock(f *testing.F) {
	for _, tc := range fieldBlockCases() {
		f.Add(tc.first, tc.split, tc.second, true, tc.max)
	}
	f.Fuzz(func(t *testing.T, first []byte, split int, second []byte, endStream bool, max uint32) {
		max = max%(h2MaxHeaderList) + 1
		checkFieldBlocks(t, headerFrames(first, split, second, endStream), max)
	})
}

// BenchmarkHeaderBlock is the reader's decoding of a pick's two header blocks (response
// headers, trailers): the framer's ReadMetaHeaders, or h2FieldBlock.
func BenchmarkHeaderBlock(b *testing.B) {
	// Two streams' blocks from one encoder: the second's fields are in the hpack table, as on a
	// connection's every stream but its first.
	var enc, hb bytes.Buffer
	fr := http2.NewFramer(&enc, nil)
	e := hpack.NewEncoder(&hb)
	for id := uint32(1); id <= 3; id += 2 {
		for _, block := range [][]string{{":status", "200", "content-type", "application/grpc"}, {"grpc-status", "0"}} {
			hb.Reset()
			for i := 0; i < len(block); i += 2 {
				_ = e.WriteField(hpack.HeaderField{Name: block[i], Value: block[i+1]})
			}
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: block[0] == "grpc-status"})
		}
	}
	frames := enc.Bytes()
	r := bytes.NewReader(frames)
	b.Run("framer", func(b *testing.B) {
		b.ReportAllocs()
		rd := http2.NewFramer(nil, r)
		rd.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		for b.Loop() {
			r.Reset(frames)
			for range 4 {
				if _, err := rd.ReadFrame(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		rd := http2.NewFramer(nil, r)
		hb := newH2FieldBlock(h2MaxHeaderList)
		for b.Loop() {
			r.Reset(frames)
			for range 4 {
				f, err := rd.ReadFrame()
				if err != nil {
					b.Fatal(err)
				}
				hf := f.(*http2.HeadersFrame)
				hb.start(hf)
				if _, err := hb.fragment(hf.HeaderBlockFragment(), true); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
