package epp

import (
	"net/http"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/encoding/protowire"
)

// headersRequest is the request headers message of an exchange without a subset hint, which
// the fast path's stream encodes by hand (appendTo) into its send buffer: building it as
// protobuf messages (headerMap) and marshalling them was a pick's largest allocation at the
// client after the body. What it encodes decodes to message(nil)
// (TestHeadersRequestMatchesProto, FuzzHeadersRequest).
type headersRequest struct {
	r    *http.Request
	eos  bool // the request has no body
	mode Mode
}

// message is the request headers message as protobuf builds it, with the subset hint when
// subset is not nil: grpc-go's path, and the fast path's with a hint.
func (h *headersRequest) message(subset []string) *extprocv3.ProcessingRequest {
	// The message's four parts in one allocation.
	hm := &struct {
		req     extprocv3.ProcessingRequest
		kind    extprocv3.ProcessingRequest_RequestHeaders
		headers extprocv3.HttpHeaders
		config  extprocv3.ProtocolConfiguration
	}{}
	hm.headers.Headers = headerMap(h.r, func(k string) bool { return !sentHeader(k) })
	hm.headers.EndOfStream = h.eos
	hm.kind.RequestHeaders = &hm.headers
	hm.config.RequestBodyMode, hm.config.ResponseBodyMode = h.mode.RequestBody, h.mode.ResponseBody
	hm.req.Request, hm.req.ProtocolConfig = &hm.kind, &hm.config
	if subset != nil {
		hm.req.MetadataContext = subsetMetadata(subset)
	}
	return &hm.req
}

// sentHeader is whether the exchange sends header k (lower case) to the picker.
func sentHeader(k string) bool { return !credential[k] && !hopByHop[k] }

// appendTo appends the ProcessingRequest to b. Its strings, the header names, are UTF-8 as
// proto.Marshal wants them: lowerKey's strings.ToLower turns invalid bytes into U+FFFD.
func (h *headersRequest) appendTo(b []byte) []byte {
	r := h.r
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.URL.RequestURI()
	// HeaderMap's size, then each HeaderValue in turn: the pseudo-headers, then the headers.
	mapSize := hvSize(":method", r.Method) + hvSize(":path", path) + hvSize(":authority", r.Host) + hvSize(":scheme", scheme)
	for k, vs := range r.Header {
		lk := lowerKey(k)
		if !sentHeader(lk) {
			continue
		}
		for _, v := range vs {
			mapSize += hvSize(lk, v)
		}
	}
	httpSize := 1 + protowire.SizeBytes(mapSize) // HttpHeaders.headers (1)
	if h.eos {
		httpSize += 2 // HttpHeaders.end_of_stream (3)
	}
	// ProcessingRequest.request_headers (2).
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(httpSize))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(mapSize))
	b = appendHV(b, ":method", r.Method)
	b = appendHV(b, ":path", path)
	b = appendHV(b, ":authority", r.Host)
	b = appendHV(b, ":scheme", scheme)
	for k, vs := range r.Header {
		lk := lowerKey(k)
		if !sentHeader(lk) {
			continue
		}
		for _, v := range vs {
			b = appendHV(b, lk, v)
		}
	}
	if h.eos {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	// ProcessingRequest.protocol_config (11): the body modes, proto3 zeros left out.
	var cfg [8]byte
	c := cfg[:0]
	if h.mode.RequestBody != 0 {
		c = protowire.AppendVarint(protowire.AppendTag(c, 1, protowire.VarintType), uint64(h.mode.RequestBody))
	}
	if h.mode.ResponseBody != 0 {
		c = protowire.AppendVarint(protowire.AppendTag(c, 2, protowire.VarintType), uint64(h.mode.ResponseBody))
	}
	b = protowire.AppendTag(b, 11, protowire.BytesType)
	return protowire.AppendBytes(b, c)
}

// hvSize is the encoded size of HeaderValue{Key: k, RawValue: v} as a HeaderMap field.
func hvSize(k, v string) int {
	n := 0
	if k != "" {
		n += 1 + protowire.SizeBytes(len(k))
	}
	if v != "" {
		n += 1 + protowire.SizeBytes(len(v))
	}
	return 1 + protowire.SizeBytes(n)
}

func appendHV(b []byte, k, v string) []byte {
	n := 0
	if k != "" {
		n += 1 + protowire.SizeBytes(len(k))
	}
	if v != "" {
		n += 1 + protowire.SizeBytes(len(v))
	}
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	if k != "" {
		b = protowire.AppendString(protowire.AppendTag(b, 1, protowire.BytesType), k)
	}
	if v != "" {
		b = protowire.AppendString(protowire.AppendTag(b, 3, protowire.BytesType), v)
	}
	return b
}
