package epp

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// headersReplyCases are ProcessingResponses as marshalled, and hand-made encodings, each with
// whether decodeHeadersReply takes it and whether it reads a destination from its metadata.
func headersReplyCases() []struct {
	name           string
	b              []byte
	fast, withDest bool
} {
	mustMarshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		return b
	}
	pick := newPickReply("10.0.0.1:8000,10.0.0.2:8000", nil)
	hv := func(k, v string, raw bool) *corev3.HeaderValueOption {
		if raw {
			return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}}
		}
		return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v}, AppendAction: corev3.HeaderValueOption_ADD_IF_ABSENT, KeepEmptyValue: true}
	}
	headers := func(resp bool, cr *extprocv3.CommonResponse, md *structpb.Struct) *extprocv3.ProcessingResponse {
		m := &extprocv3.ProcessingResponse{DynamicMetadata: md}
		if resp {
			m.Response = &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: cr}}
		} else {
			m.Response = &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: cr}}
		}
		return m
	}
	many := &extprocv3.CommonResponse{Status: extprocv3.CommonResponse_CONTINUE_AND_REPLACE, ClearRouteCache: true, HeaderMutation: &extprocv3.HeaderMutation{
		SetHeaders:    []*corev3.HeaderValueOption{hv("a", "1", false), hv(KeyDestination, "10.0.0.1:8000", true), hv("x-c", "", false), {}},
		RemoveHeaders: []string{"x-drop", "content-length"},
	}}
	listMD, _ := structpb.NewStruct(map[string]any{NamespaceLB: map[string]any{KeyDestination: []any{"10.0.0.1:8000"}}})
	extraMD, _ := structpb.NewStruct(map[string]any{NamespaceLB: map[string]any{KeyDestination: "10.0.0.1:8000", "other": "x"}})
	otherNS, _ := structpb.NewStruct(map[string]any{"other.ns": map[string]any{KeyDestination: "10.0.0.1:8000"}})
	withAppend := hv("a", "1", false)
	withAppend.Append = wrapperspb.Bool(true) //nolint:staticcheck // older pickers still send the deprecated flag
	field := func(num protowire.Number, inner []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), inner)
	}
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	mdBytes := func(value []byte) []byte { // {envoy.lb: {KeyDestination: value}}
		inner := field(1, cat(field(1, []byte(KeyDestination)), field(2, value)))
		return field(8, field(1, cat(field(1, []byte(NamespaceLB)), field(2, field(5, inner)))))
	}
	emptyHeaders := field(1, nil)
	return []struct {
		name           string
		b              []byte
		fast, withDest bool
	}{
		{"the pick's headers reply", mustMarshal(&pick.headers), true, true},
		{"the pick's reply without metadata", mustMarshal(headers(false, pick.headers.GetRequestHeaders().GetResponse(), nil)), true, false},
		{"metadata before the response", cat(mdBytes(field(3, []byte("10.0.0.1:8000"))), emptyHeaders), true, true},
		{"an empty destination string", cat(emptyHeaders, mdBytes(field(3, nil))), true, true},
		{"response headers, four set headers and two removed", mustMarshal(headers(true, many, nil)), true, false},
		{"an empty headers response", emptyHeaders, true, false},
		{"an empty common response", mustMarshal(headers(false, &extprocv3.CommonResponse{}, nil)), true, false},
		{"status as a large varint", field(1, field(1, protowire.AppendVarint([]byte{0x08}, 1<<40|2))), true, false},
		{"a list destination", mustMarshal(headers(false, nil, listMD)), false, false},
		{"a second key beside the destination", mustMarshal(headers(false, nil, extraMD)), false, false},
		{"another namespace", mustMarshal(headers(false, nil, otherNS)), false, false},
		{"the deprecated append", mustMarshal(headers(false, &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{withAppend}}}, nil)), false, false},
		{"a body mutation", mustMarshal(headers(false, &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}}, nil)), false, false},
		{"request_drain besides", mustMarshal(&extprocv3.ProcessingResponse{Response: pick.headers.Response, RequestDrain: true}), false, false},
		{"metadata alone", mdBytes(field(3, []byte("10.0.0.1:8000"))), false, false},
		{"request and response headers", cat(emptyHeaders, field(2, nil)), false, false},
		{"headers sent twice", cat(emptyHeaders, emptyHeaders), false, false},
		{"metadata sent twice", cat(emptyHeaders, mdBytes(field(3, nil)), mdBytes(field(3, nil))), false, false},
		{"a key sent twice", field(1, field(1, field(2, field(1, field(1, cat(field(1, []byte("a")), field(1, []byte("b")))))))), false, false},
		{"a key not UTF-8", field(1, field(1, field(2, field(1, field(1, field(1, []byte{0xff})))))), false, false},
		{"a removed header not UTF-8", field(1, field(1, field(2, field(2, []byte{0xc0})))), false, false},
		{"a destination not UTF-8", cat(emptyHeaders, mdBytes(field(3, []byte{0xff}))), false, false},
		{"an immediate response", mustMarshal(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{Status: &typev3.HttpStatus{Code: 429}}}}), false, false},
		{"the pick's body reply", mustMarshal(&pick.body), false, false},
		{"truncated", mustMarshal(&pick.headers)[:25], false, false},
		{"empty message", nil, false, false},
	}
}

// decodeHeadersReply decodes what proto.Unmarshal decodes (with the envoy.lb metadata as the
// destination string), and declines what it does not take.
func TestDecodeHeadersReplyMatchesProto(t *testing.T) {
	for _, tc := range headersReplyCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, _, withDest := checkHeadersReply(t, tc.b)
			if (got != nil) != tc.fast || withDest != tc.withDest {
				t.Fatalf("decoded: %v with a destination %v, want %v, %v", got != nil, withDest, tc.fast, tc.withDest)
			}
		})
	}
}

// checkHeadersReply fails t unless decodeHeadersReply(b), when it decodes b, equals
// proto.Unmarshal's and keeps none of b.
func checkHeadersReply(t *testing.T, b []byte) (*extprocv3.ProcessingResponse, string, bool) {
	t.Helper()
	c := append([]byte(nil), b...)
	got, dest, ok := decodeHeadersReply(c)
	if got == nil {
		if ok || dest != "" {
			t.Fatalf("declined with a destination %q", dest)
		}
		return nil, "", false
	}
	if got.DynamicMetadata != nil {
		t.Fatal("dynamic metadata built")
	}
	if ok {
		got.DynamicMetadata = destinationMetadata(dest)
	}
	for i := range c { // the stream reuses the message's bytes
		c[i] = ^c[i]
	}
	want := &extprocv3.ProcessingResponse{}
	matchesProto(t, b, got, want)
	if d, wok := destination(want.GetDynamicMetadata(), nil); wok != ok || d != dest {
		t.Fatalf("destination %q %v, proto.Unmarshal's %q %v", dest, ok, d, wok)
	}
	got.DynamicMetadata = nil
	return got, dest, ok
}

// FuzzDecodeHeadersReply: whatever decodeHeadersReply decodes, proto.Unmarshal decodes alike,
// and nothing of it is the message's bytes (corpus in testdata/fuzz).
func FuzzDecodeHeadersReply(f *testing.F) {
	for _, tc := range headersReplyCases() {
		f.Add(tc.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkHeadersReply(t, b) })
}

// BenchmarkDecodeHeadersReply is the client's decoding of a pick's headers reply and its
// destination: proto.Unmarshal with destination's read of the Struct, or decodeHeadersReply.
func BenchmarkDecodeHeadersReply(b *testing.B) {
	msg, err := proto.Marshal(&newPickReply("10.0.0.1:8000,10.0.0.2:8000", nil).headers)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("proto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := &extprocv3.ProcessingResponse{}
			if err := proto.Unmarshal(msg, m); err != nil {
				b.Fatal(err)
			}
			if _, ok := destination(m.GetDynamicMetadata(), nil); !ok {
				b.Fatal("no destination")
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if m, _, ok := decodeHeadersReply(msg); m == nil || !ok {
				b.Fatal("not decoded")
			}
		}
	})
}
