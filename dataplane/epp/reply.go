package epp

import (
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// pickReply is the EPP server's full-duplex answer to a pick, built in one allocation instead
// of two dozen: the request headers reply that names the endpoints (the destination header and
// the identical envoy.lb metadata, as destinationMetadata builds them) and the request body
// reply that sends the body back. It lives for one pick (newPickReply), or is kept for the next
// where Send marshals before it returns (getPickReply).
type pickReply struct {
	headers    extprocv3.ProcessingResponse
	reqHeaders extprocv3.ProcessingResponse_RequestHeaders
	headersRes extprocv3.HeadersResponse
	common     extprocv3.CommonResponse
	mutation   extprocv3.HeaderMutation
	setOpts    [1]*corev3.HeaderValueOption
	option     corev3.HeaderValueOption
	header     corev3.HeaderValue
	md, lb     structpb.Struct
	lbValue    structpb.Value
	lbKind     structpb.Value_StructValue
	destValue  structpb.Value
	destKind   structpb.Value_StringValue

	body     extprocv3.ProcessingResponse
	reqBody  extprocv3.ProcessingResponse_RequestBody
	bodyRes  extprocv3.BodyResponse
	bodyCom  extprocv3.CommonResponse
	bodyMut  extprocv3.BodyMutation
	bodyKind extprocv3.BodyMutation_StreamedResponse
	streamed extprocv3.StreamedBodyResponse
}

// newPickReply answers a pick of the endpoints list with body sent back whole.
func newPickReply(list string, body []byte) *pickReply {
	r := &pickReply{}
	r.link()
	r.set(list, body)
	return r
}

// link points the reply's messages at each other, once.
func (r *pickReply) link() {
	r.header.Key = KeyDestination
	r.option = corev3.HeaderValueOption{Header: &r.header, AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}
	r.setOpts[0] = &r.option
	r.mutation.SetHeaders = r.setOpts[:]
	r.common = extprocv3.CommonResponse{HeaderMutation: &r.mutation, ClearRouteCache: true}
	r.headersRes.Response = &r.common
	r.reqHeaders.RequestHeaders = &r.headersRes
	r.headers.Response = &r.reqHeaders

	r.destValue.Kind = &r.destKind
	r.lb.Fields = map[string]*structpb.Value{KeyDestination: &r.destValue}
	r.lbKind.StructValue = &r.lb
	r.lbValue.Kind = &r.lbKind
	r.md.Fields = map[string]*structpb.Value{NamespaceLB: &r.lbValue}
	r.headers.DynamicMetadata = &r.md

	r.streamed.EndOfStream = true
	r.bodyKind.StreamedResponse = &r.streamed
	r.bodyMut.Mutation = &r.bodyKind
	r.bodyCom.BodyMutation = &r.bodyMut
	r.bodyRes.Response = &r.bodyCom
	r.reqBody.RequestBody = &r.bodyRes
	r.body.Response = &r.reqBody
}

// set makes r the answer to a pick of list with body.
func (r *pickReply) set(list string, body []byte) {
	r.header.RawValue = append(r.header.RawValue[:0], list...)
	r.destKind.StringValue = list
	r.streamed.Body = body
}

// pickReplies are the replies of the fast path's server, whose Send marshals before it returns
// (grpc-go's may marshal later: its replies are newPickReply's).
var pickReplies = sync.Pool{New: func() any {
	r := &pickReply{}
	r.link()
	return r
}}

func getPickReply(list string, body []byte) *pickReply {
	r := pickReplies.Get().(*pickReply)
	r.set(list, body)
	return r
}

// putPickReply keeps r for the next pick, without the body it sent back.
func putPickReply(r *pickReply) {
	if cap(r.header.RawValue) > 4<<10 {
		r.header.RawValue = nil
	}
	r.set("", nil)
	pickReplies.Put(r)
}
