package epp

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// pickReply is the EPP server's full-duplex answer to a pick, built in one allocation instead
// of two dozen: the request headers reply that names the endpoints (the destination header and
// the identical envoy.lb metadata, as destinationMetadata builds them) and the request body
// reply that sends the body back. gRPC marshals a message in Send, so it lives for one pick.
type pickReply struct {
	headers    extprocv3.ProcessingResponse
	reqHeaders extprocv3.ProcessingResponse_RequestHeaders
	headersRes extprocv3.HeadersResponse
	common     extprocv3.CommonResponse
	mutation   extprocv3.HeaderMutation
	set        [1]*corev3.HeaderValueOption
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
	r.header = corev3.HeaderValue{Key: KeyDestination, RawValue: []byte(list)}
	r.option = corev3.HeaderValueOption{Header: &r.header, AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}
	r.set[0] = &r.option
	r.mutation.SetHeaders = r.set[:]
	r.common = extprocv3.CommonResponse{HeaderMutation: &r.mutation, ClearRouteCache: true}
	r.headersRes.Response = &r.common
	r.reqHeaders.RequestHeaders = &r.headersRes
	r.headers.Response = &r.reqHeaders

	r.destKind.StringValue = list
	r.destValue.Kind = &r.destKind
	r.lb.Fields = map[string]*structpb.Value{KeyDestination: &r.destValue}
	r.lbKind.StructValue = &r.lb
	r.lbValue.Kind = &r.lbKind
	r.md.Fields = map[string]*structpb.Value{NamespaceLB: &r.lbValue}
	r.headers.DynamicMetadata = &r.md

	r.streamed = extprocv3.StreamedBodyResponse{Body: body, EndOfStream: true}
	r.bodyKind.StreamedResponse = &r.streamed
	r.bodyMut.Mutation = &r.bodyKind
	r.bodyCom.BodyMutation = &r.bodyMut
	r.bodyRes.Response = &r.bodyCom
	r.reqBody.RequestBody = &r.bodyRes
	r.body.Response = &r.reqBody
	return r
}
