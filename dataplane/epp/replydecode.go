package epp

import (
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/encoding/protowire"
)

// decodedHeaders is a ProcessingResponse answering headers with a header mutation, built in one
// allocation for one set header (a pick's reply sets one: the destination).
type decodedHeaders struct {
	resp     extprocv3.ProcessingResponse
	reqH     extprocv3.ProcessingResponse_RequestHeaders
	resH     extprocv3.ProcessingResponse_ResponseHeaders
	headers  extprocv3.HeadersResponse
	common   extprocv3.CommonResponse
	mutation extprocv3.HeaderMutation
	setPtrs  [1]*corev3.HeaderValueOption
	opts     [1]corev3.HeaderValueOption
	values   [1]corev3.HeaderValue
}

// decodeHeadersReply decodes b when it is a request or response headers reply whose common
// response has at most a status, a header mutation (set and removed headers) and
// clear_route_cache, with no dynamic metadata or with the envoy.lb metadata naming the
// destination as a string and nothing else. That metadata comes back as dest (hasDest) and not
// as a Struct: its two maps were half of what decoding a pick's headers reply allocated, and
// the exchange reads only the string. destinationMetadata(dest) is the Struct proto.Unmarshal
// builds. Any other message, or a field sent twice, returns nil and is decoded by
// proto.Unmarshal: what this returns is what proto.Unmarshal decodes
// (FuzzDecodeHeadersReply). Nothing returned aliases b.
func decodeHeadersReply(b []byte) (m *extprocv3.ProcessingResponse, dest string, hasDest bool) {
	if num, _, _ := protowire.ConsumeTag(b); num != 1 && num != 2 && num != 8 {
		return nil, "", false
	}
	r := &decodedHeaders{}
	var seen uint16
	for len(b) > 0 {
		num, v, rest, ok := bytesField(b)
		if !ok || num > 8 || seen&(1<<num) != 0 {
			return nil, "", false
		}
		seen |= 1 << num
		b = rest
		switch num {
		case 1, 2:
			if seen&(1<<1) != 0 && seen&(1<<2) != 0 { // a oneof set twice: the last wins
				return nil, "", false
			}
			if !r.decodeHeadersResponse(v) {
				return nil, "", false
			}
			if num == 1 {
				r.reqH.RequestHeaders = &r.headers
				r.resp.Response = &r.reqH
			} else {
				r.resH.ResponseHeaders = &r.headers
				r.resp.Response = &r.resH
			}
		case 8:
			if dest, ok = lbDestination(v); !ok {
				return nil, "", false
			}
			hasDest = true
		default:
			return nil, "", false
		}
	}
	if r.resp.Response == nil {
		return nil, "", false
	}
	return &r.resp, dest, hasDest
}

// decodeHeadersResponse reads a HeadersResponse: field 1, the CommonResponse, at most once.
func (r *decodedHeaders) decodeHeadersResponse(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	num, v, rest, ok := bytesField(b)
	if !ok || num != 1 || len(rest) != 0 {
		return false
	}
	r.headers.Response = &r.common
	var seen uint8
	for len(v) > 0 {
		num, typ, n := protowire.ConsumeTag(v)
		if n < 0 || num > 5 || seen&(1<<num) != 0 {
			return false
		}
		seen |= 1 << num
		v = v[n:]
		switch {
		case (num == 1 || num == 5) && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(v)
			if n < 0 {
				return false
			}
			v = v[n:]
			if num == 1 {
				r.common.Status = extprocv3.CommonResponse_ResponseStatus(int32(x))
			} else {
				r.common.ClearRouteCache = protowire.DecodeBool(x)
			}
		case num == 2 && typ == protowire.BytesType:
			m, n := protowire.ConsumeBytes(v)
			if n < 0 || !r.decodeMutation(m) {
				return false
			}
			v = v[n:]
		default:
			return false
		}
	}
	return true
}

// decodeMutation reads a HeaderMutation: set headers (1) and removed headers (2), repeated.
func (r *decodedHeaders) decodeMutation(b []byte) bool {
	mu := &r.mutation
	r.common.HeaderMutation = mu
	for len(b) > 0 {
		num, v, rest, ok := bytesField(b)
		if !ok {
			return false
		}
		b = rest
		switch num {
		case 1:
			o := r.newOption()
			if !decodeOption(o, v, r.newValue) {
				return false
			}
			mu.SetHeaders = append(mu.SetHeaders, o)
		case 2:
			if !utf8.Valid(v) {
				return false
			}
			mu.RemoveHeaders = append(mu.RemoveHeaders, internHeader(v))
		default:
			return false
		}
	}
	return true
}

func (r *decodedHeaders) newOption() *corev3.HeaderValueOption {
	if n := len(r.mutation.SetHeaders); n < len(r.opts) {
		if n == 0 {
			r.mutation.SetHeaders = r.setPtrs[:0]
		}
		return &r.opts[n]
	}
	return &corev3.HeaderValueOption{}
}

func (r *decodedHeaders) newValue() *corev3.HeaderValue {
	if n := len(r.mutation.SetHeaders); n < len(r.values) {
		return &r.values[n]
	}
	return &corev3.HeaderValue{}
}

// decodeOption reads a HeaderValueOption: header (1), append_action (3), keep_empty_value (4),
// each at most once (the deprecated append, 2, is left to proto.Unmarshal).
func decodeOption(o *corev3.HeaderValueOption, b []byte, newValue func() *corev3.HeaderValue) bool {
	var seen uint8
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > 4 || seen&(1<<num) != 0 {
			return false
		}
		seen |= 1 << num
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			o.Header = newValue()
			if !decodeHeaderValue(o.Header, v) {
				return false
			}
		case (num == 3 || num == 4) && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			if num == 3 {
				o.AppendAction = corev3.HeaderValueOption_HeaderAppendAction(int32(x))
			} else {
				o.KeepEmptyValue = protowire.DecodeBool(x)
			}
		default:
			return false
		}
	}
	return true
}

// decodeHeaderValue reads a HeaderValue: key (1), value (2), raw_value (3), each at most once.
func decodeHeaderValue(h *corev3.HeaderValue, b []byte) bool {
	var seen uint8
	for len(b) > 0 {
		num, v, rest, ok := bytesField(b)
		if !ok || num > 3 || seen&(1<<num) != 0 {
			return false
		}
		seen |= 1 << num
		b = rest
		switch num {
		case 1, 2:
			if !utf8.Valid(v) {
				return false
			}
			if num == 1 {
				h.Key = internHeader(v)
			} else {
				h.Value = string(v)
			}
		case 3:
			if len(v) > 0 { // proto.Unmarshal leaves an empty raw_value nil
				h.RawValue = append([]byte(nil), v...)
			}
		default:
			return false
		}
	}
	return true
}

// lbDestination reads dynamic metadata that is exactly {envoy.lb: {KeyDestination: "string"}}.
func lbDestination(b []byte) (string, bool) {
	v, ok := onlyEntry(b, NamespaceLB)
	if !ok {
		return "", false
	}
	if v, ok = onlyField(v, 5); !ok { // Value.struct_value
		return "", false
	}
	if v, ok = onlyEntry(v, KeyDestination); !ok {
		return "", false
	}
	num, s, rest, ok := bytesField(v) // Value.string_value
	if !ok || num != 3 || len(rest) != 0 || !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}

// onlyEntry is the value of a Struct whose only field is key.
func onlyEntry(b []byte, key string) ([]byte, bool) {
	e, ok := onlyField(b, 1)
	if !ok {
		return nil, false
	}
	var k, v []byte
	var seen uint8
	for len(e) > 0 {
		num, x, rest, ok := bytesField(e)
		if !ok || num > 2 || seen&(1<<num) != 0 {
			return nil, false
		}
		seen |= 1 << num
		e = rest
		if num == 1 {
			k = x
		} else {
			v = x
		}
	}
	if seen != 1<<1|1<<2 || string(k) != key {
		return nil, false
	}
	return v, true
}

// bytesField reads one field of the bytes type (numbers 1 to 15 only: the fields read here).
func bytesField(b []byte) (num protowire.Number, v, rest []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || typ != protowire.BytesType || num < 1 || num > 15 {
		return 0, nil, nil, false
	}
	v, m := protowire.ConsumeBytes(b[n:])
	if m < 0 {
		return 0, nil, nil, false
	}
	return num, v, b[n+m:], true
}

// internHeader is b as a string, without an allocation for the names the EPPs set.
func internHeader(b []byte) string {
	switch string(b) {
	case KeyDestination:
		return KeyDestination
	case "x-gateway-destination-endpoint-served":
		return "x-gateway-destination-endpoint-served"
	case "content-length":
		return "content-length"
	case "content-type":
		return "content-type"
	case "x-went-into-req-headers":
		return "x-went-into-req-headers"
	}
	return string(b)
}
