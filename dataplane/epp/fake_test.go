package epp

import (
	"errors"
	"io"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

// fakeEPP is a scripted endpoint picker: each stream runs script.
type fakeEPP struct {
	extprocv3.UnimplementedExternalProcessorServer
	script func(s extprocv3.ExternalProcessor_ProcessServer) error

	mu   sync.Mutex
	seen []*extprocv3.ProcessingRequest // every message received, in order
}

func (f *fakeEPP) Process(s extprocv3.ExternalProcessor_ProcessServer) error { return f.script(s) }

func (f *fakeEPP) recv(s extprocv3.ExternalProcessor_ProcessServer) (*extprocv3.ProcessingRequest, error) {
	m, err := s.Recv()
	if err == nil {
		f.mu.Lock()
		f.seen = append(f.seen, m)
		f.mu.Unlock()
	}
	return m, err
}

func (f *fakeEPP) messages() []*extprocv3.ProcessingRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*extprocv3.ProcessingRequest(nil), f.seen...)
}

// readRequest reads the request headers and, unless they end the stream, the body to its end.
func (f *fakeEPP) readRequest(s extprocv3.ExternalProcessor_ProcessServer) (body []byte, err error) {
	m, err := f.recv(s)
	if err != nil {
		return nil, err
	}
	if m.GetRequestHeaders().GetEndOfStream() {
		return nil, nil
	}
	for {
		m, err := f.recv(s)
		if err != nil {
			return nil, err
		}
		body = append(body, m.GetRequestBody().GetBody()...)
		if m.GetRequestBody().GetEndOfStream() {
			return body, nil
		}
	}
}

// picks is a full-duplex picker like GIE's EPP: it names dest (metadata and header), optionally
// mutates, sends the body back (rewritten by body when not nil) and echoes the response, passing
// each response body chunk through respBody.
type picks struct {
	dest         string
	headerOnly   bool // name dest in the header only, not the metadata
	setHeaders   map[string]string
	removeHeader []string
	body         func([]byte) []byte
	respHeader   map[string]string
	respBody     func([]byte) []byte
}

func (f *fakeEPP) pick(p picks) func(extprocv3.ExternalProcessor_ProcessServer) error {
	return func(s extprocv3.ExternalProcessor_ProcessServer) error {
		body, err := f.readRequest(s)
		if err != nil {
			return err
		}
		set := []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: KeyDestination, RawValue: []byte(p.dest)}}}
		for k, v := range p.setHeaders {
			set = append(set, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}})
		}
		reply := headersReply(&extprocv3.HeaderMutation{SetHeaders: set, RemoveHeaders: p.removeHeader})
		if !p.headerOnly {
			reply.DynamicMetadata = destinationMetadata(p.dest)
		}
		if err := s.Send(reply); err != nil {
			return err
		}
		if body != nil {
			if p.body != nil {
				body = p.body(body)
			}
			if err := s.Send(streamedReply(body, true, false)); err != nil {
				return err
			}
		}
		for {
			m, err := f.recv(s)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			switch v := m.GetRequest().(type) {
			case *extprocv3.ProcessingRequest_ResponseHeaders:
				var set []*corev3.HeaderValueOption
				for k, val := range p.respHeader {
					set = append(set, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(val)}})
				}
				if err := s.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{
					Response: &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: set}}}}}); err != nil {
					return err
				}
			case *extprocv3.ProcessingRequest_ResponseBody:
				b := v.ResponseBody.GetBody()
				if p.respBody != nil {
					b = p.respBody(b)
				}
				if err := s.Send(streamedReply(b, v.ResponseBody.GetEndOfStream(), true)); err != nil {
					return err
				}
			}
		}
	}
}

func streamedReply(b []byte, eos, response bool) *extprocv3.ProcessingResponse {
	br := &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{
		Mutation: &extprocv3.BodyMutation_StreamedResponse{StreamedResponse: &extprocv3.StreamedBodyResponse{Body: b, EndOfStream: eos}}}}}
	if response {
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: br}}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: br}}
}

func immediateReply(code int, body string) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode(code)}, Body: []byte(body),
		Headers: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "retry-after", RawValue: []byte("3")}}}},
	}}}
}
