package epp

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// bodyDecodeCases are ProcessingRequests as marshalled, and hand-made encodings, each with
// whether decodeBodyRequest takes it.
func bodyDecodeCases() []struct {
	name string
	b    []byte
	fast bool
} {
	mustMarshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		return b
	}
	body := chatBody("sim-model", "hello", false)
	respBody := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: []byte("data: {}\n\n"), EndOfStreamWithoutMessage: true}}}
	withMD := bodyMsg(body, true)
	withMD.MetadataContext = servedMetadata("10.0.0.1:8000")
	field := func(num protowire.Number, inner []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), inner)
	}
	eos := protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 1)
	bodyField := func(b string) []byte { return field(1, []byte(b)) }
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	return []struct {
		name string
		b    []byte
		fast bool
	}{
		{"whole body", mustMarshal(bodyMsg(body, true)), true},
		{"a chunk", mustMarshal(bodyMsg(body[:7], false)), true},
		{"empty body, end of stream", mustMarshal(bodyMsg(nil, true)), true},
		{"empty HttpBody", mustMarshal(bodyMsg(nil, false)), true},
		{"response body", mustMarshal(respBody), true},
		{"end of stream before the body", field(4, cat(eos, bodyField("abc"))), true},
		{"end of stream 2 (any non-zero varint)", field(4, cat(bodyField("x"), protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 2))), true},
		{"non-minimal varint", field(4, cat(bodyField("x"), []byte{0x10, 0x81, 0x00})), true},
		{"an empty body field", field(4, bodyField("")), true},
		{"body with metadata", mustMarshal(withMD), false},
		{"headers", mustMarshal(headersMsg(nil, false, nil)), false},
		{"trailers", mustMarshal(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{RequestTrailers: &extprocv3.HttpTrailers{Trailers: &corev3.HeaderMap{}}}}), false},
		{"body sent twice", field(4, cat(bodyField("a"), bodyField("b"))), false},
		{"HttpBody sent twice", cat(field(4, bodyField("a")), field(4, eos)), false},
		{"unknown HttpBody field", field(4, cat(bodyField("a"), field(9, nil))), false},
		{"body as a varint", field(4, []byte{0x08, 0x01}), false},
		{"truncated", mustMarshal(bodyMsg(body, true))[:20], false},
		{"empty message", nil, false},
	}
}

// decodeBodyRequest decodes what proto.Unmarshal decodes (an empty body nil as there), with the
// body where it lies in the message; it declines what it does not take.
func TestDecodeBodyRequestMatchesProto(t *testing.T) {
	for _, tc := range bodyDecodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := checkBodyDecode(t, tc.b)
			if (got != nil) != tc.fast {
				t.Fatalf("decoded: %v, want %v", got != nil, tc.fast)
			}
			if got == nil {
				return
			}
			body := got.GetRequestBody().GetBody()
			if got.GetRequestBody() == nil {
				body = got.GetResponseBody().GetBody()
			}
			if len(body) > 0 && !aliases(body, tc.b) {
				t.Error("the body was copied, want it read where it lies in the message")
			}
		})
	}
}

// checkBodyDecode fails t unless decodeBodyRequest(b), when it decodes b, equals proto.Unmarshal's.
func checkBodyDecode(t *testing.T, b []byte) *extprocv3.ProcessingRequest {
	t.Helper()
	got := decodeBodyRequest(b)
	if got == nil {
		return nil
	}
	want := &extprocv3.ProcessingRequest{}
	matchesProto(t, b, got, want)
	gb, wb := got.GetRequestBody(), want.GetRequestBody()
	if gb == nil {
		gb, wb = got.GetResponseBody(), want.GetResponseBody()
	}
	if (gb.GetBody() == nil) != (wb.GetBody() == nil) {
		t.Fatalf("body nil %v, proto.Unmarshal's nil %v", gb.GetBody() == nil, wb.GetBody() == nil)
	}
	return got
}

func aliases(sub, b []byte) bool {
	for i := range b {
		if len(sub) > 0 && &b[i] == &sub[0] {
			return true
		}
	}
	return false
}

// FuzzDecodeBodyRequest: whatever decodeBodyRequest decodes, proto.Unmarshal decodes alike
// (corpus in testdata/fuzz).
func FuzzDecodeBodyRequest(f *testing.F) {
	for _, tc := range bodyDecodeCases() {
		f.Add(tc.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkBodyDecode(t, b) })
}

// bodyReplyCases are ProcessingResponses as marshalled, and hand-made encodings, with the body
// the exchange sent and whether decodeBodyReply takes them.
func bodyReplyCases() []struct {
	name       string
	b, sent    []byte
	fast, same bool
} {
	mustMarshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		return b
	}
	body := chatBody("sim-model", "hello", false)
	pick := newPickReply("10.0.0.1:8000", body)
	streamed := func(sr *extprocv3.StreamedBodyResponse) *extprocv3.ProcessingResponse {
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{
			Response: &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{StreamedResponse: sr}}}}}}
	}
	withStatus := streamed(&extprocv3.StreamedBodyResponse{Body: body, EndOfStream: true})
	withStatus.GetRequestBody().Response.Status = extprocv3.CommonResponse_CONTINUE_AND_REPLACE
	withMD := streamed(&extprocv3.StreamedBodyResponse{Body: body, EndOfStream: true})
	withMD.DynamicMetadata = destinationMetadata("10.0.0.1:8000")
	wrap := func(inner []byte) []byte {
		for _, num := range []protowire.Number{3, 3, 1, 3} {
			inner = protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), inner)
		}
		return inner
	}
	bodyField := func(b string) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte(b))
	}
	return []struct {
		name       string
		b, sent    []byte
		fast, same bool
	}{
		{"the pick's body reply", mustMarshal(&pick.body), body, true, true},
		{"a changed body", mustMarshal(&pick.body), []byte("other"), true, false},
		{"nothing sent", mustMarshal(&pick.body), nil, true, false},
		{"a chunk, every flag", mustMarshal(streamed(&extprocv3.StreamedBodyResponse{Body: body[:9], EndOfStreamWithoutMessage: true, GrpcMessageCompressed: true})), body, true, false},
		{"an empty streamed response", mustMarshal(streamed(&extprocv3.StreamedBodyResponse{})), nil, true, false},
		{"an empty body field", wrap(bodyField("")), nil, true, false},
		{"end of stream before the body", wrap(append(protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 7), bodyField("abc")...)), []byte("abc"), true, true},
		{"body sent twice", wrap(append(bodyField("a"), bodyField("a")...)), []byte("a"), false, false},
		{"a status besides", mustMarshal(withStatus), body, false, false},
		{"dynamic metadata besides", mustMarshal(withMD), body, false, false},
		{"the pick's headers reply", mustMarshal(&pick.headers), body, false, false},
		{"a buffered body mutation", mustMarshal(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{
			Response: &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}}}}}}), body, false, false},
		{"a response body reply", mustMarshal(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}}), nil, false, false},
		{"truncated", mustMarshal(&pick.body)[:30], body, false, false},
		{"unknown field", wrap(protowire.AppendVarint(protowire.AppendTag(nil, 5, protowire.VarintType), 1)), nil, false, false},
	}
}

// decodeBodyReply decodes what proto.Unmarshal decodes, with the body sent when the reply sends
// it back and a copy (nothing of the message's bytes) otherwise.
func TestDecodeBodyReplyMatchesProto(t *testing.T) {
	for _, tc := range bodyReplyCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := checkBodyReply(t, tc.b, tc.sent)
			if (got != nil) != tc.fast {
				t.Fatalf("decoded: %v, want %v", got != nil, tc.fast)
			}
			body := got.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetBody()
			if same := len(body) > 0 && len(tc.sent) > 0 && &body[0] == &tc.sent[0]; same != tc.same {
				t.Errorf("the body sent taken: %v, want %v", same, tc.same)
			}
		})
	}
}

// checkBodyReply fails t unless decodeBodyReply(b, sent), when it decodes b, equals
// proto.Unmarshal's and keeps none of b.
func checkBodyReply(t *testing.T, b, sent []byte) *extprocv3.ProcessingResponse {
	t.Helper()
	got := decodeBodyReply(b, sent)
	if got == nil {
		return nil
	}
	want := &extprocv3.ProcessingResponse{}
	matchesProto(t, b, got, want)
	gb := got.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetBody()
	wb := want.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetBody()
	if (gb == nil) != (wb == nil) {
		t.Fatalf("body nil %v, proto.Unmarshal's nil %v", gb == nil, wb == nil)
	}
	if aliases(gb, b) {
		t.Fatal("the body aliases the message's bytes, which the stream reuses")
	}
	return got
}

// FuzzDecodeBodyReply: whatever decodeBodyReply decodes, proto.Unmarshal decodes alike, and
// nothing of it is the message's bytes (corpus in testdata/fuzz).
func FuzzDecodeBodyReply(f *testing.F) {
	for _, tc := range bodyReplyCases() {
		f.Add(tc.b, tc.sent)
	}
	f.Fuzz(func(t *testing.T, b, sent []byte) { checkBodyReply(t, b, sent) })
}

// matchesProto fails t unless got, a fast decoder's result for b, is what proto.Unmarshal
// decodes b into (want, empty).
func matchesProto(t *testing.T, b []byte, got, want proto.Message) {
	t.Helper()
	if err := proto.Unmarshal(b, want); err != nil {
		t.Fatalf("decoded what proto.Unmarshal refuses (%v): %v", err, got)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("decoded %v, proto.Unmarshal %v", got, want)
	}
}
