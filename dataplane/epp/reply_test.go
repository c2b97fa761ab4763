package epp

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"
)

// TestPickReply checks the one-allocation full-duplex answer against the messages built field by
// field (the server's answer before it, and what the buffered and headers-only modes still send).
func TestPickReply(t *testing.T) {
	for _, tc := range []struct {
		list string
		body []byte
	}{
		{"127.0.0.2:8000", []byte(`{"model":"m"}`)},
		{"127.0.0.2:8000,127.0.0.3:8000,127.0.0.4:8000", nil},
		{"[::1]:8000", []byte{}},
		{"127.0.0.9:8000,127.0.0.8:8000", []byte(`{"model":"n"}`)},
	} {
		r := newPickReply(tc.list, tc.body)
		headers := headersReply(&extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{{
			Header:       &corev3.HeaderValue{Key: KeyDestination, RawValue: []byte(tc.list)},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		}}})
		headers.DynamicMetadata = destinationMetadata(tc.list)
		body := &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{
			Response: &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{
				StreamedResponse: &extprocv3.StreamedBodyResponse{Body: tc.body, EndOfStream: true}}}}}}}
		if !proto.Equal(&r.headers, headers) {
			t.Errorf("%s: headers reply\n%v\nwant\n%v", tc.list, &r.headers, headers)
		}
		if !proto.Equal(&r.body, body) {
			t.Errorf("%s: body reply\n%v\nwant\n%v", tc.list, &r.body, body)
		}
		// The fast path's reply, kept from the case before: the same bytes on the wire.
		pooled := getPickReply(tc.list, tc.body)
		for _, m := range [][2]*extprocv3.ProcessingResponse{{&pooled.headers, &r.headers}, {&pooled.body, &r.body}} {
			got, err1 := proto.Marshal(m[0])
			want, err2 := proto.Marshal(m[1])
			if err1 != nil || err2 != nil || string(got) != string(want) {
				t.Errorf("%s: the kept reply marshals to %q (%v), want %q (%v)", tc.list, got, err1, want, err2)
			}
		}
		putPickReply(pooled)
		if d, ok := destination(r.headers.GetDynamicMetadata(), r.headers.GetRequestHeaders().GetResponse().GetHeaderMutation()); !ok || d != tc.list {
			t.Errorf("%s: the client reads destination %q, %v", tc.list, d, ok)
		}
	}
}
