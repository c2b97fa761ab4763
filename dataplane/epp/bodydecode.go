package epp

import (
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/encoding/protowire"
)

// bodyRequest is a ProcessingRequest that carries one body chunk, built in one allocation.
type bodyRequest struct {
	req  extprocv3.ProcessingRequest
	reqB extprocv3.ProcessingRequest_RequestBody
	resB extprocv3.ProcessingRequest_ResponseBody
	body extprocv3.HttpBody
}

// decodeBodyRequest decodes b when it is a ProcessingRequest holding a request or response body
// chunk and nothing else (a pick's body message, Envoy's and the dataplane's alike), with the
// body aliasing b: protobuf copies every bytes field, which was a pick's largest allocation at
// the EPP (its 4 KB body). Any other message, or a field sent twice, returns nil and is decoded
// by proto.Unmarshal: what this returns is what proto.Unmarshal decodes (FuzzDecodeBodyRequest).
// The caller keeps b unchanged while it reads the body.
func decodeBodyRequest(b []byte) *extprocv3.ProcessingRequest {
	num, _, _ := protowire.ConsumeTag(b)
	if num != 4 && num != 5 {
		return nil
	}
	in, ok := onlyField(b, num)
	if !ok {
		return nil
	}
	body, flags, ok := bodyFields(in, 3)
	if !ok {
		return nil
	}
	r := &bodyRequest{}
	if len(body) > 0 { // proto.Unmarshal leaves an empty body nil
		r.body.Body = body[:len(body):len(body)]
	}
	r.body.EndOfStream, r.body.EndOfStreamWithoutMessage = flags[0], flags[1]
	if num == 4 {
		r.reqB.RequestBody = &r.body
		r.req.Request = &r.reqB
	} else {
		r.resB.ResponseBody = &r.body
		r.req.Request = &r.resB
	}
	return &r.req
}

// bodyReply is a ProcessingResponse that sends a request body chunk back, built in one
// allocation.
type bodyReply struct {
	resp     extprocv3.ProcessingResponse
	reqB     extprocv3.ProcessingResponse_RequestBody
	bodyRes  extprocv3.BodyResponse
	common   extprocv3.CommonResponse
	mutation extprocv3.BodyMutation
	kind     extprocv3.BodyMutation_StreamedResponse
	streamed extprocv3.StreamedBodyResponse
}

// decodeBodyReply decodes b when it is a full-duplex request body reply (a streamed response
// and nothing else: what a picker answers a pick's body with), taking a body equal to sent as
// sent instead of a copy: a picker sends the body back unchanged, and that copy was a pick's
// largest allocation at the client. A body that differs is copied, so nothing returned aliases
// b. Any other message, or a field sent twice, returns nil and is decoded by proto.Unmarshal:
// what this returns is what proto.Unmarshal decodes (FuzzDecodeBodyReply).
func decodeBodyReply(b, sent []byte) *extprocv3.ProcessingResponse {
	// ProcessingResponse.request_body (3) . BodyResponse.response (1) .
	// CommonResponse.body_mutation (3) . BodyMutation.streamed_response (3).
	in := b
	for _, num := range [...]protowire.Number{3, 1, 3, 3} {
		var ok bool
		if in, ok = onlyField(in, num); !ok {
			return nil
		}
	}
	body, flags, ok := bodyFields(in, 4)
	if !ok {
		return nil
	}
	r := &bodyReply{}
	switch {
	case len(body) == 0: // proto.Unmarshal leaves an empty body nil
	case string(body) == string(sent):
		r.streamed.Body = sent
	default:
		r.streamed.Body = append([]byte(nil), body...)
	}
	r.streamed.EndOfStream, r.streamed.EndOfStreamWithoutMessage, r.streamed.GrpcMessageCompressed = flags[0], flags[1], flags[2]
	r.kind.StreamedResponse = &r.streamed
	r.mutation.Mutation = &r.kind
	r.common.BodyMutation = &r.mutation
	r.bodyRes.Response = &r.common
	r.reqB.RequestBody = &r.bodyRes
	r.resp.Response = &r.reqB
	return &r.resp
}

// onlyField is the contents of b when b is field num of the bytes type and nothing else.
func onlyField(b []byte, num protowire.Number) ([]byte, bool) {
	f, t, n := protowire.ConsumeTag(b)
	if n < 0 || f != num || t != protowire.BytesType {
		return nil, false
	}
	v, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return nil, false
	}
	return v, true
}

// bodyFields reads the fields of a body message (HttpBody, StreamedBodyResponse): 1 the body
// (aliasing in), 2 to last booleans (flags[f-2]), each at most once and nothing else; ok is
// false for anything else, which the callers leave to proto.Unmarshal.
func bodyFields(in []byte, last protowire.Number) (body []byte, flags [3]bool, ok bool) {
	var seen [5]bool
	for len(in) > 0 {
		f, t, k := protowire.ConsumeTag(in)
		if k < 0 || f > last || seen[f] {
			return nil, flags, false
		}
		seen[f] = true
		in = in[k:]
		switch {
		case f == 1 && t == protowire.BytesType:
			v, k := protowire.ConsumeBytes(in)
			if k < 0 {
				return nil, flags, false
			}
			body, in = v, in[k:]
		case f >= 2 && t == protowire.VarintType:
			v, k := protowire.ConsumeVarint(in)
			if k < 0 {
				return nil, flags, false
			}
			flags[f-2], in = protowire.DecodeBool(v), in[k:]
		default:
			return nil, flags, false
		}
	}
	return body, flags, true
}
