package epp

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"
)

func headersRequestCases() []struct {
	name string
	h    headersRequest
} {
	req := func(method, target string, hdr http.Header) *http.Request {
		r, err := http.NewRequest(method, target, nil)
		if err != nil {
			panic(err)
		}
		r.Header = hdr
		return r
	}
	pick := req(http.MethodPost, "http://gw/v1/chat/completions", http.Header{"Content-Type": {"application/json"}})
	tlsReq := req(http.MethodPost, "https://gw.example/v1/completions?x=1&y=%20", http.Header{
		"Authorization": {"Bearer secret"}, "Connection": {"keep-alive"}, "Te": {"trailers"},
		"X-Multi": {"a", "", "c"}, "X-Empty": {""}, "X-Long": {strings.Repeat("v", 300)},
	})
	tlsReq.TLS = &tls.ConnectionState{}
	noHost := req(http.MethodGet, "http://gw/", http.Header{})
	noHost.Host = ""
	opaque := &http.Request{Method: "POST", URL: &url.URL{Opaque: "/a b"}, Host: "h", Header: http.Header{}}
	bad := req(http.MethodPost, "http://gw/", http.Header{"X-\xff": {"v"}})
	return []struct {
		name string
		h    headersRequest
	}{
		{"a pick, full duplex", headersRequest{r: pick, mode: FullDuplex}},
		{"no body, buffered", headersRequest{r: pick, eos: true, mode: Mode{RequestBody: BodyBuffered, ResponseHeaders: true}}},
		{"no body modes", headersRequest{r: pick, eos: true, mode: Mode{ResponseHeaders: true}}},
		{"TLS, dropped, repeated, empty and long headers", headersRequest{r: tlsReq, mode: FullDuplex}},
		{"no host, no headers", headersRequest{r: noHost, eos: true}},
		{"an opaque URL", headersRequest{r: opaque}},
		{"a header name not UTF-8 (lowerKey makes it U+FFFD)", headersRequest{r: bad, mode: FullDuplex}},
	}
}

// The hand-encoded request headers message decodes to what protobuf builds (headerMap), but
// for the order of the headers after the pseudo-headers, which is the map's.
func TestHeadersRequestMatchesProto(t *testing.T) {
	for _, tc := range headersRequestCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkHeadersRequest(t, &tc.h)
		})
	}
}

// checkHeadersRequest fails t unless h's encoding, appended after other bytes, decodes to
// protobuf's message, which proto.Marshal encodes.
func checkHeadersRequest(t *testing.T, h *headersRequest) {
	t.Helper()
	b := h.appendTo([]byte{1, 2, 3})
	if string(b[:3]) != "\x01\x02\x03" {
		t.Fatal("the bytes before the message changed")
	}
	got := &extprocv3.ProcessingRequest{}
	if err := proto.Unmarshal(b[3:], got); err != nil {
		t.Fatalf("proto.Unmarshal: %v", err)
	}
	want := h.message(nil)
	if _, err := proto.Marshal(want); err != nil {
		t.Fatalf("encoded what proto.Marshal refuses: %v", err)
	}
	sortHeaders(got)
	sortHeaders(want)
	if !proto.Equal(got, want) {
		t.Fatalf("encoded %v, protobuf's %v", got, want)
	}
}

// sortHeaders orders a headers message's headers after the four pseudo-headers.
func sortHeaders(m *extprocv3.ProcessingRequest) {
	hs := m.GetRequestHeaders().GetHeaders().GetHeaders()
	if len(hs) > 4 {
		slices.SortStableFunc(hs[4:], func(a, b *corev3.HeaderValue) int {
			if c := strings.Compare(a.GetKey(), b.GetKey()); c != 0 {
				return c
			}
			return strings.Compare(string(a.GetRawValue()), string(b.GetRawValue()))
		})
	}
}

// FuzzHeadersRequest: the hand-encoded request headers message decodes to protobuf's (corpus
// in testdata/fuzz).
func FuzzHeadersRequest(f *testing.F) {
	f.Add("POST", "/v1/chat/completions", "gw", "content-type", "application/json", false, int32(3), int32(3))
	f.Add("GET", "/", "", "x-\xff", "", true, int32(0), int32(0))
	f.Add("PUT", "/a?b", "h:1", "X-Mixed-Case", strings.Repeat("v", 200), true, int32(1), int32(2))
	f.Fuzz(func(t *testing.T, method, path, host, name, value string, eos bool, reqMode, respMode int32) {
		r := &http.Request{Method: method, URL: &url.URL{Opaque: path}, Host: host, Header: http.Header{name: {value}}}
		checkHeadersRequest(t, &headersRequest{r: r, eos: eos, mode: Mode{RequestBody: BodyMode(reqMode), ResponseBody: BodyMode(respMode)}})
	})
}

// BenchmarkHeadersRequest is the client's encoding of a pick's request headers message:
// protobuf messages marshalled, or appendTo.
func BenchmarkHeadersRequest(b *testing.B) {
	r, _ := http.NewRequest(http.MethodPost, "http://gw/v1/chat/completions", nil)
	r.Header = http.Header{"Content-Type": {"application/json"}, "User-Agent": {"bench"}, "X-Request-Id": {"0f8e2a"}, "Accept": {"*/*"}}
	h := &headersRequest{r: r, mode: FullDuplex}
	buf := make([]byte, 0, 1024)
	b.Run("proto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf[:0], h.message(nil)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = h.appendTo(buf[:0])
		}
	})
}
