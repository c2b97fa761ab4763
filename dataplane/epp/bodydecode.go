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
