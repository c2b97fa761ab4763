package epp

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/pool"
)

// Server is a pool's picker served as an Endpoint Picker: an ext_proc server that answers each
// request with the endpoints to use (header and envoy.lb dynamic metadata), honours the subset
// hint, and keeps its in-flight counts from the served endpoint the proxy reports.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer
	pool    atomic.Pointer[pool.Pool] // swapped when the pool's resources change
	name    string
	maxBody int64
	log     *slog.Logger
	metrics *serverMetrics
}

// NewServer serves p. maxBody bounds a buffered request body (default 32 MiB); logger and reg
// may be nil.
func NewServer(p *pool.Pool, maxBody int64, logger *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	if maxBody <= 0 {
		maxBody = 32 << 20
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newServerMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{name: p.Name(), maxBody: maxBody, log: logger, metrics: m}
	s.pool.Store(p)
	return s, nil
}

// SetPool serves p from the next pick on and returns the pool it replaces (a stream already
// picking finishes on it).
func (s *Server) SetPool(p *pool.Pool) *pool.Pool { return s.pool.Swap(p) }

// Pool is the pool picks come from.
func (s *Server) Pool() *pool.Pool { return s.pool.Load() }

// streamState is one request's progress on the server.
type streamState struct {
	header     http.Header
	subset     []string
	body       []byte
	bodyMode   BodyMode
	respMode   BodyMode
	gotHeaders bool
	picked     bool
	pick       *pool.Pick
}

// Process serves one request's stream.
func (s *Server) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	st := &streamState{}
	defer func() {
		if st.pick != nil {
			st.pick.Release()
		}
	}()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
			if !st.picked {
				s.metrics.requests.WithLabelValues(s.name, "aborted").Inc()
			}
			return nil
		}
		if err != nil {
			return err
		}
		done, err := s.handle(stream, st, req)
		if err != nil {
			s.metrics.requests.WithLabelValues(s.name, "invalid").Inc()
			return err
		}
		if done {
			return nil
		}
	}
}

// handle answers one message; done ends the stream (an immediate response was sent).
func (s *Server) handle(stream extprocv3.ExternalProcessor_ProcessServer, st *streamState, req *extprocv3.ProcessingRequest) (done bool, err error) {
	switch v := req.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		if st.gotHeaders {
			return false, status.Error(codes.InvalidArgument, "request headers sent twice")
		}
		st.gotHeaders = true
		st.header = requestHeader(v.RequestHeaders.GetHeaders().GetHeaders())
		st.subset, _ = readSubset(req.GetMetadataContext())
		// Without a protocol_config the proxy is taken to stream full duplex, what the
		// Inference Extension requires of gateways.
		st.bodyMode, st.respMode = BodyFullDuplex, BodyFullDuplex
		if pc := req.GetProtocolConfig(); pc != nil {
			st.bodyMode, st.respMode = pc.GetRequestBodyMode(), pc.GetResponseBodyMode()
		}
		switch {
		case v.RequestHeaders.GetEndOfStream() || st.bodyMode == BodyNone || st.bodyMode == BodyStreamed:
			// No body to score, or the headers go upstream before the body: pick now.
			return s.pickAndAnswer(stream, st, nil, true)
		case st.bodyMode == BodyBuffered:
			// The proxy waits for this reply before it sends the body; the pick rides on the
			// body reply.
			return false, stream.Send(headersReply(nil))
		}
		return false, nil // full duplex: answered when the body has ended
	case *extprocv3.ProcessingRequest_RequestBody:
		if !st.gotHeaders {
			return false, status.Error(codes.InvalidArgument, "request body before headers")
		}
		if st.picked {
			return false, stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}})
		}
		if int64(len(st.body)+len(v.RequestBody.GetBody())) > s.maxBody {
			return s.refuse(stream, &apierror.Error{Status: http.StatusRequestEntityTooLarge, Type: apierror.ErrInvalidRequest, Message: "request body too large for the endpoint picker"})
		}
		if st.body == nil && v.RequestBody.GetEndOfStream() {
			st.body = v.RequestBody.GetBody() // the whole body in one message: no copy
		} else {
			st.body = append(st.body, v.RequestBody.GetBody()...)
		}
		if !v.RequestBody.GetEndOfStream() {
			return false, nil
		}
		return s.pickAndAnswer(stream, st, st.body, false)
	case *extprocv3.ProcessingRequest_RequestTrailers:
		if st.gotHeaders && !st.picked && st.bodyMode == BodyFullDuplex {
			// Trailers end a full-duplex body that had no end_of_stream.
			if done, err := s.pickAndAnswer(stream, st, st.body, false); done || err != nil {
				return done, err
			}
		}
		return false, stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{}}})
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		if st.pick != nil {
			if served := readServed(req.GetMetadataContext()); served != "" {
				st.pick.Served(served)
			}
			if v.ResponseHeaders.GetEndOfStream() {
				st.pick.Release()
			}
		}
		return false, stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}})
	case *extprocv3.ProcessingRequest_ResponseBody:
		if st.pick != nil {
			if served := readServed(req.GetMetadataContext()); served != "" {
				st.pick.Served(served)
			}
			if v.ResponseBody.GetEndOfStream() {
				st.pick.Release()
			}
		}
		reply := &extprocv3.BodyResponse{}
		if st.respMode == BodyFullDuplex {
			// In this mode the proxy forwards only what the processor sends back.
			reply.Response = &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{
				StreamedResponse: &extprocv3.StreamedBodyResponse{Body: v.ResponseBody.GetBody(), EndOfStream: v.ResponseBody.GetEndOfStream()}}}}
		}
		return false, stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: reply}})
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		if st.pick != nil {
			st.pick.Release()
		}
		return false, stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{}}})
	}
	return false, status.Errorf(codes.InvalidArgument, "unsupported message %T", req.GetRequest())
}

// requestHeader is the proxy's request headers (pseudo-headers left out) as the picker reads
// them. Every value shares one string and one []string backing array: two allocations for the
// values instead of two per header.
func requestHeader(hs []*corev3.HeaderValue) http.Header {
	n := 0
	for _, h := range hs {
		n += len(h.GetRawValue()) + len(h.GetValue())
	}
	var all strings.Builder
	all.Grow(n)
	for _, h := range hs {
		if raw := h.GetRawValue(); len(raw) > 0 {
			all.Write(raw)
		} else {
			all.WriteString(h.GetValue())
		}
	}
	joined := all.String()
	vals := make([]string, 0, len(hs))
	out := make(http.Header, len(hs))
	off := 0
	for _, h := range hs {
		l := len(h.GetRawValue())
		if l == 0 {
			l = len(h.GetValue())
		}
		v := joined[off : off+l]
		off += l
		k := h.GetKey()
		if k == "" || k[0] == ':' {
			continue
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if prev, ok := out[ck]; ok {
			out[ck] = append(prev[:len(prev):len(prev)], v) // a repeated header gets its own slice
			continue
		}
		vals = append(vals, v)
		out[ck] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return out
}

// pickAndAnswer picks and sends the pick: on the headers reply (full duplex, or no body to
// wait for), or on the body reply (buffered). In full duplex the body goes back unchanged.
func (s *Server) pickAndAnswer(stream extprocv3.ExternalProcessor_ProcessServer, st *streamState, body []byte, atHeaders bool) (bool, error) {
	start := time.Now()
	pick, err := s.pool.Load().Pick(stream.Context(), pool.PickRequest{Header: st.header, Body: body, Subset: st.subset})
	if err != nil {
		var he *apierror.Error
		if !errors.As(err, &he) {
			he = &apierror.Error{Status: http.StatusInternalServerError, Type: apierror.ErrServer, Message: "endpoint picker: internal error"}
			s.log.Error("pick failed", "pool", s.name, "error", err)
		}
		return s.refuse(stream, he)
	}
	st.pick, st.picked = pick, true
	list := strings.Join(pick.Endpoints, ",")
	s.metrics.pick.WithLabelValues(s.name).Observe(time.Since(start).Seconds())
	s.metrics.requests.WithLabelValues(s.name, "picked").Inc()
	if !atHeaders && st.bodyMode == BodyFullDuplex {
		if _, fast := stream.(*h2sStream); fast {
			r := getPickReply(list, body)
			defer putPickReply(r)
			if err := stream.Send(&r.headers); err != nil {
				return false, err
			}
			return false, stream.Send(&r.body)
		}
		r := newPickReply(list, body)
		if err := stream.Send(&r.headers); err != nil {
			return false, err
		}
		return false, stream.Send(&r.body)
	}
	mutation := &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{{
		Header:       &corev3.HeaderValue{Key: KeyDestination, RawValue: []byte(list)},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}}}
	md := destinationMetadata(list)
	switch {
	case atHeaders:
		r := headersReply(mutation)
		r.DynamicMetadata = md
		return false, stream.Send(r)
	default: // buffered: the headers are still held by the proxy, so the mutation applies to them
		return false, stream.Send(&extprocv3.ProcessingResponse{
			Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{
				Response: &extprocv3.CommonResponse{HeaderMutation: mutation, ClearRouteCache: true}}},
			DynamicMetadata: md,
		})
	}
}

func headersReply(m *extprocv3.HeaderMutation) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
		Response: &extprocv3.CommonResponse{HeaderMutation: m, ClearRouteCache: m != nil}}}}
}

// refuse answers the request itself (ImmediateResponse) with e in OpenAI's error shape, and ends
// the stream.
func (s *Server) refuse(stream extprocv3.ExternalProcessor_ProcessServer, e *apierror.Error) (bool, error) {
	s.metrics.requests.WithLabelValues(s.name, "refused").Inc()
	hdrs := []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "content-type", RawValue: []byte("application/json")}}}
	if e.RetryAfter != "" {
		hdrs = append(hdrs, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: "retry-after", RawValue: []byte(e.RetryAfter)}})
	}
	err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
		Status:  &typev3.HttpStatus{Code: typev3.StatusCode(e.Status)},
		Headers: &extprocv3.HeaderMutation{SetHeaders: hdrs},
		Body:    e.AppendJSON(nil),
		Details: e.Message,
	}}})
	return true, err
}
