package epp

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestParseEndpoints(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      []string
		malformed int
	}{
		{"10.0.0.1:8000", []string{"10.0.0.1:8000"}, 0},
		{" 10.0.0.1:8000 , 10.0.0.2:8000,", []string{"10.0.0.1:8000", "10.0.0.2:8000"}, 0},
		{"[fd00::1]:8000", []string{"[fd00::1]:8000"}, 0},
		{"vllm-0:8000,10.0.0.1:0,10.0.0.1,http://10.0.0.1:8000/", nil, 4}, // names, port 0, no port, URLs
		{"10.0.0.1:8000\r\nx: y", nil, 1},
		{strings.Repeat("10.0.0.1:8000,", 400), nil, 1}, // over maxDestinationLen
	} {
		got, bad := parseEndpoints(tc.in)
		if !slices.Equal(got, tc.want) || bad != tc.malformed {
			t.Errorf("parseEndpoints(%.40q) = %v, %d malformed; want %v, %d", tc.in, got, bad, tc.want, tc.malformed)
		}
	}
	many := strings.TrimSuffix(strings.Repeat("10.0.0.1:8000,", 20), ",")
	if got, _ := parseEndpoints(many); len(got) != maxEndpoints {
		t.Errorf("%d endpoints read of 20, want the first %d", len(got), maxEndpoints)
	}
}

func TestApplyHeaderMutation(t *testing.T) {
	opt := func(k, v string, a corev3.HeaderValueOption_HeaderAppendAction) *corev3.HeaderValueOption {
		return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}, AppendAction: a}
	}
	h := http.Header{"X-Keep": {"1"}, "X-Over": {"old"}, "X-Gone": {"1"}, "Host": {"a"}}
	skipped := applyHeaderMutation(h, &extprocv3.HeaderMutation{
		SetHeaders: []*corev3.HeaderValueOption{
			opt("x-over", "new", corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD), // ext_proc's default: overwrite
			opt("x-keep", "2", corev3.HeaderValueOption_ADD_IF_ABSENT),
			opt("x-absent", "3", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS),
			{Header: &corev3.HeaderValue{Key: "x-appended", Value: "a"}, Append: wrapperspb.Bool(true)},
			{Header: &corev3.HeaderValue{Key: "x-appended", Value: "b"}, Append: wrapperspb.Bool(true)},
			opt(":authority", "evil", 0), opt("host", "evil", 0), opt("content-length", "1", 0), opt("transfer-encoding", "chunked", 0),
			opt("x-envoy-original-path", "/", 0), opt(KeyDestination, "127.0.0.1:1", 0), opt("x-bad", "a\r\nb", 0), opt("bad name", "v", 0),
		},
		RemoveHeaders: []string{"x-gone", "host", ":path"},
	})
	if skipped != 10 {
		t.Errorf("skipped %d operations, want 10 (pseudo, host x2, framing, x-envoy-, destination, CR/LF, bad name, :path)", skipped)
	}
	want := http.Header{"X-Keep": {"1"}, "X-Over": {"new"}, "Host": {"a"}, "X-Appended": {"a", "b"}}
	if len(h) != len(want) {
		t.Fatalf("headers %v, want %v", h, want)
	}
	for k, v := range want {
		if !slices.Equal(h[k], v) {
			t.Errorf("%s = %v, want %v", k, h[k], v)
		}
	}
}

func TestReadSubset(t *testing.T) {
	md := func(v *structpb.Value) *corev3.Metadata {
		return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{NamespaceSubset: {Fields: map[string]*structpb.Value{KeySubset: v}}}}
	}
	list, _ := structpb.NewList([]any{"10.0.0.1:8000", "10.0.0.2:8000,10.0.0.3:8000"})
	for _, tc := range []struct {
		name string
		md   *corev3.Metadata
		want []string
		ok   bool
	}{
		{"none", nil, nil, false},
		{"list", md(structpb.NewListValue(list)), []string{"10.0.0.1:8000", "10.0.0.2:8000", "10.0.0.3:8000"}, true},
		{"comma string", md(structpb.NewStringValue("10.0.0.1, 10.0.0.2")), []string{"10.0.0.1", "10.0.0.2"}, true},
		{"empty list", md(structpb.NewListValue(&structpb.ListValue{})), []string{}, true},
	} {
		got, ok := readSubset(tc.md)
		if ok != tc.ok || !slices.Equal(got, tc.want) || (tc.ok && got == nil) {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// The server reads the proxy's headers as the picker sees them: pseudo-headers left out, raw_value
// before value, a repeated header keeping every value in order, and no value sharing another's
// slice (an append to one must not change the next).
func TestRequestHeader(t *testing.T) {
	hv := func(k, raw, v string) *corev3.HeaderValue {
		return &corev3.HeaderValue{Key: k, RawValue: []byte(raw), Value: v}
	}
	h := requestHeader([]*corev3.HeaderValue{
		hv(":path", "/v1/chat/completions", ""),
		hv("x-gateway-model-name", "llama", ""),
		hv("accept", "", "text/event-stream"),
		hv("x-multi", "a", ""),
		hv("content-type", "application/json", "ignored"),
		hv("x-multi", "b", ""),
		hv("", "no key", ""),
	})
	want := http.Header{
		"X-Gateway-Model-Name": {"llama"},
		"Accept":               {"text/event-stream"},
		"X-Multi":              {"a", "b"},
		"Content-Type":         {"application/json"},
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("requestHeader = %v, want %v", h, want)
	}
	h["X-Gateway-Model-Name"] = append(h["X-Gateway-Model-Name"], "appended")
	if got := h.Get("Accept"); got != "text/event-stream" {
		t.Errorf("an append to one header changed the next: Accept = %q", got)
	}
}

// The request headers go to the picker as Envoy sends them: pseudo-headers first, lower-case
// keys, one entry per value, dropped headers left out; the values share one buffer, so each must
// still read as its own.
func TestHeaderMap(t *testing.T) {
	r, err := http.NewRequest(http.MethodPost, "http://gw.example/v1/chat/completions?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header = http.Header{
		"Content-Type":  {"application/json"},
		"X-Multi":       {"one", "", "three"},
		"Authorization": {"Bearer secret"},
		"User-Agent":    {"test/1"},
	}
	hm := headerMap(r, func(k string) bool { return credential[k] })
	var got []string
	for _, h := range hm.GetHeaders() {
		if h.GetValue() != "" {
			t.Errorf("%s: value %q set besides raw_value", h.GetKey(), h.GetValue())
		}
		got = append(got, h.GetKey()+"="+string(h.GetRawValue()))
	}
	if want := []string{":method=POST", ":path=/v1/chat/completions?x=1", ":authority=gw.example", ":scheme=http"}; !slices.Equal(got[:4], want) {
		t.Errorf("pseudo-headers = %v, want %v", got[:4], want)
	}
	rest := slices.Sorted(slices.Values(got[4:]))
	if want := []string{"content-type=application/json", "user-agent=test/1", "x-multi=", "x-multi=one", "x-multi=three"}; !slices.Equal(rest, want) {
		t.Errorf("headers = %v, want %v", rest, want)
	}
}
