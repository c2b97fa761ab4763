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
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || typ != protowire.BytesType || (num != 4 && num != 5) {
		return nil
	}
	in, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return nil
	}
	r := &bodyRequest{}
	var seen [4]bool
	for len(in) > 0 {
		f, t, k := protowire.ConsumeTag(in)
		if k < 0 || f > 3 || seen[f] {
			return nil
		}
		seen[f] = true
		in = in[k:]
		switch {
		case f == 1 && t == protowire.BytesType:
			v, k := protowire.ConsumeBytes(in)
			if k < 0 {
				return nil
			}
			if len(v) > 0 { // proto.Unmarshal leaves an empty body nil
				r.body.Body = v[:len(v):len(v)]
			}
			in = in[k:]
		case (f == 2 || f == 3) && t == protowire.VarintType:
			v, k := protowire.ConsumeVarint(in)
			if k < 0 {
				return nil
			}
			if f == 2 {
				r.body.EndOfStream = protowire.DecodeBool(v)
			} else {
				r.body.EndOfStreamWithoutMessage = protowire.DecodeBool(v)
			}
			in = in[k:]
		default:
			return nil
		}
	}
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
	r := &bodyReply{}
	var seen [5]bool
	for len(in) > 0 {
		f, t, k := protowire.ConsumeTag(in)
		if k < 0 || f > 4 || seen[f] {
			return nil
		}
		seen[f] = true
		in = in[k:]
		switch {
		case f == 1 && t == protowire.BytesType:
			v, k := protowire.ConsumeBytes(in)
			if k < 0 {
				return nil
			}
			switch {
			case len(v) == 0: // proto.Unmarshal leaves an empty body nil
			case string(v) == string(sent):
				r.streamed.Body = sent
			default:
				r.streamed.Body = append([]byte(nil), v...)
			}
			in = in[k:]
		case f >= 2 && t == protowire.VarintType:
			v, k := protowire.ConsumeVarint(in)
			if k < 0 {
				return nil
			}
			switch f {
			case 2:
				r.streamed.EndOfStream = protowire.DecodeBool(v)
			case 3:
				r.streamed.EndOfStreamWithoutMessage = protowire.DecodeBool(v)
			default:
				r.streamed.GrpcMessageCompressed = protowire.DecodeBool(v)
			}
			in = in[k:]
		default:
			return nil
		}
	}
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
