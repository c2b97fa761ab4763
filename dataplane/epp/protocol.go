package epp

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// The Endpoint Picker protocol's vocabulary (GIE docs/proposals/004-endpoint-picker-protocol).
const (
	// NamespaceLB holds the picked endpoints in the EPP's dynamic metadata and the served
	// endpoint in the proxy's metadata context.
	NamespaceLB = "envoy.lb"
	// NamespaceSubset holds the subset hint in the proxy's metadata context.
	NamespaceSubset = "envoy.lb.subset_hint"

	KeyDestination = "x-gateway-destination-endpoint"
	KeySubset      = "x-gateway-destination-endpoint-subset"
	KeyServed      = "x-gateway-destination-endpoint-served"
)

// Limits on what an EPP may return.
const (
	maxEndpoints      = 16   // entries read from a destination list
	maxDestinationLen = 4096 // bytes of a destination list
)

// headerMap is an http.Header as ext_proc carries it: lower-case keys, raw values, one entry per
// value, with the HTTP/2 pseudo-headers Envoy sends first.
// The HeaderValues share one array and their raw values one byte slice: three allocations
// for the headers whatever their number (they are marshalled and dropped with the message).
func headerMap(r *http.Request, drop func(string) bool) *corev3.HeaderMap {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.URL.RequestURI()
	n, size := 4, len(r.Method)+len(path)+len(r.Host)+len(scheme)
	for _, vs := range r.Header {
		n += len(vs)
		for _, v := range vs {
			size += len(v)
		}
	}
	hvs := make([]corev3.HeaderValue, n)
	hm := &corev3.HeaderMap{Headers: make([]*corev3.HeaderValue, 0, n)}
	raw := make([]byte, 0, size)
	add := func(k, v string) {
		hv := &hvs[len(hm.Headers)]
		start := len(raw)
		raw = append(raw, v...)
		hv.Key, hv.RawValue = k, raw[start:len(raw):len(raw)]
		hm.Headers = append(hm.Headers, hv)
	}
	add(":method", r.Method)
	add(":path", path)
	add(":authority", r.Host)
	add(":scheme", scheme)
	for k, vs := range r.Header {
		lk := lowerKey(k)
		if drop(lk) {
			continue
		}
		for _, v := range vs {
			add(lk, v)
		}
	}
	return hm
}

// lowerKey is k in lower case, without allocating for the headers most requests carry.
func lowerKey(k string) string {
	switch k {
	case "Content-Type":
		return "content-type"
	case "Content-Length":
		return "content-length"
	case "Accept":
		return "accept"
	case "Accept-Encoding":
		return "accept-encoding"
	case "User-Agent":
		return "user-agent"
	case "X-Request-Id":
		return "x-request-id"
	case "X-Forwarded-For":
		return "x-forwarded-for"
	case "X-Forwarded-Proto":
		return "x-forwarded-proto"
	}
	return strings.ToLower(k)
}

// responseHeaderMap is a response's headers for the response-headers phase.
func responseHeaderMap(resp *http.Response) *corev3.HeaderMap {
	hm := &corev3.HeaderMap{Headers: make([]*corev3.HeaderValue, 0, len(resp.Header)+1)}
	hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: ":status", RawValue: []byte(itoa(resp.StatusCode))})
	for k, vs := range resp.Header {
		lk := strings.ToLower(k)
		if hopByHop[lk] {
			continue
		}
		for _, v := range vs {
			hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: lk, RawValue: []byte(v)})
		}
	}
	return hm
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// headerValue is a HeaderValue's value: raw_value when set (Envoy's choice), else value.
func headerValue(h *corev3.HeaderValue) string {
	if len(h.GetRawValue()) > 0 {
		return string(h.GetRawValue())
	}
	return h.GetValue()
}

// hopByHop are connection-level headers neither side may set through ext_proc.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"transfer-encoding": true, "upgrade": true, "trailer": true,
}

// credential headers are not sent to the EPP: it picks endpoints and needs no client secret.
var credential = map[string]bool{
	"authorization": true, "proxy-authorization": true, "cookie": true, "x-api-key": true, "api-key": true,
}

// mutable reports whether an EPP may set or remove header k (lower case) on the request or
// response. Pseudo-headers and Host stay what routing decided (Envoy's default mutation rules),
// framing headers are the proxy's, and the destination is read from the EPP's answer instead.
func mutable(k string) bool {
	switch {
	case k == "" || k[0] == ':' || k == "host" || k == "content-length" || hopByHop[k]:
		return false
	case strings.HasPrefix(k, "x-envoy-"), strings.HasPrefix(k, KeyDestination):
		return false
	}
	return true
}

// validHeader refuses names and values net/http would send broken (CR, LF, NUL, bad tokens).
func validHeader(k, v string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return !strings.ContainsAny(v, "\r\n\x00")
}

// applyHeaderMutation applies an EPP's set and remove operations to h, skipping what mutable
// refuses. It returns how many operations it skipped.
func applyHeaderMutation(h http.Header, m *extprocv3.HeaderMutation) (skipped int) {
	if m == nil {
		return 0
	}
	for _, k := range m.GetRemoveHeaders() {
		lk := strings.ToLower(k)
		if !mutable(lk) {
			skipped++
			continue
		}
		h.Del(lk)
	}
	for _, o := range m.GetSetHeaders() {
		hv := o.GetHeader()
		lk := strings.ToLower(hv.GetKey())
		v := headerValue(hv)
		if !mutable(lk) || !validHeader(lk, v) {
			skipped++
			continue
		}
		// ext_proc's default is to overwrite: the deprecated append flag when sent, else the
		// action (whose zero value, APPEND_IF_EXISTS_OR_ADD, cannot be told from unset).
		switch {
		case o.GetAppend().GetValue(): //nolint:staticcheck // older pickers still send the deprecated flag
			h.Add(lk, v)
		case o.GetAppendAction() == corev3.HeaderValueOption_ADD_IF_ABSENT:
			if _, ok := h[http.CanonicalHeaderKey(lk)]; !ok {
				h.Set(lk, v)
			}
		case o.GetAppendAction() == corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
			if _, ok := h[http.CanonicalHeaderKey(lk)]; ok {
				h.Set(lk, v)
			}
		default:
			h.Set(lk, v)
		}
	}
	return skipped
}

// destination reads the picked endpoints from a response: the envoy.lb dynamic metadata first
// (what Envoy's override_host reads), else a header set by the mutation.
func destination(md *structpb.Struct, m *extprocv3.HeaderMutation) (string, bool) {
	if ns := md.GetFields()[NamespaceLB].GetStructValue(); ns != nil {
		if v, ok := ns.GetFields()[KeyDestination]; ok {
			return v.GetStringValue(), true
		}
	}
	for _, o := range m.GetSetHeaders() {
		if strings.EqualFold(o.GetHeader().GetKey(), KeyDestination) {
			return headerValue(o.GetHeader()), true
		}
	}
	return "", false
}

// parseEndpoints splits a destination list into ip:port entries, dropping malformed ones and
// stopping at maxEndpoints.
func parseEndpoints(s string) (eps []string, malformed int) {
	if len(s) > maxDestinationLen {
		return nil, 1
	}
	eps = make([]string, 0, min(maxEndpoints, strings.Count(s, ",")+1))
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(part)
		if err != nil || ap.Port() == 0 {
			malformed++
			continue
		}
		// Kept as sent when it is already the canonical form (what the pool's addresses are):
		// no string built per endpoint.
		var buf [64]byte
		if c := ap.AppendTo(buf[:0]); string(c) != part {
			part = string(c)
		}
		eps = append(eps, part)
		if len(eps) == maxEndpoints {
			break
		}
	}
	return eps, malformed
}

// subsetMetadata is the subset hint as the proxy sends it.
func subsetMetadata(subset []string) *corev3.Metadata {
	vals := make([]*structpb.Value, len(subset))
	for i, s := range subset {
		vals[i] = structpb.NewStringValue(s)
	}
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
		NamespaceSubset: {Fields: map[string]*structpb.Value{KeySubset: structpb.NewListValue(&structpb.ListValue{Values: vals})}},
	}}
}

// servedMetadata is the served endpoint as the proxy reports it in the response phases.
func servedMetadata(served string) *corev3.Metadata {
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
		NamespaceLB: {Fields: map[string]*structpb.Value{KeyServed: structpb.NewStringValue(served)}},
	}}
}

// readSubset reads the subset hint from a proxy's metadata context: a list of strings or one
// comma-separated string (both are sent in the wild). ok is false when no hint was sent.
func readSubset(md *corev3.Metadata) (subset []string, ok bool) {
	v, ok := md.GetFilterMetadata()[NamespaceSubset].GetFields()[KeySubset]
	if !ok {
		return nil, false
	}
	subset = []string{}
	addAll := func(s string) {
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" && len(subset) < 1024 {
				subset = append(subset, part)
			}
		}
	}
	switch {
	case v.GetListValue() != nil:
		for _, e := range v.GetListValue().GetValues() {
			addAll(e.GetStringValue())
		}
	default:
		addAll(v.GetStringValue())
	}
	return subset, true
}

// readServed reads the served endpoint from a proxy's metadata context.
func readServed(md *corev3.Metadata) string {
	return md.GetFilterMetadata()[NamespaceLB].GetFields()[KeyServed].GetStringValue()
}

// destinationResponse is what the EPP server answers with a pick: the header and the identical
// dynamic metadata, as the protocol requires.
func destinationMetadata(list string) *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		NamespaceLB: structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
			KeyDestination: structpb.NewStringValue(list),
		}}),
	}}
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
