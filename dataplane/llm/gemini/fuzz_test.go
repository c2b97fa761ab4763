package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/sse"
)

// decoderInputs are the recorded-shape replies, every event of the recorded-shape streams, and
// bodies made to trip the fast path.
func decoderInputs(t testing.TB) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob("testdata/response/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	streams, _ := filepath.Glob("testdata/stream/*.sse")
	for _, f := range streams {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rd := sse.NewReader(bytes.NewReader(b), 0)
		for {
			ev, err := rd.Next()
			if err != nil {
				break
			}
			out = append(out, bytes.Clone(ev.Data))
		}
		rd.Release()
	}
	for _, s := range []string{
		`{"Candidates":[{"content":{"parts":[{"text":"case variant"}]}}]}`,
		`{"candidates":[{"content":{"parts":[{"text":"a","text":"dup"}]}}]}`,
		`{"candidates":[{"content":{"parts":[{"\u0074ext":"escaped key"}]}}]}`,
		`{"candidates":[{"index":1.5}]}`,
		`{"candidates":[{"index":"1"}]}`,
		`{"candidates":null,"usageMetadata":null,"promptFeedback":null,"responseId":null}`,
		`{"candidates":[{"content":null,"finishReason":null}],"usageMetadata":{"thoughtsTokenCount":null}}`,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":null}},{"functionCall":null,"thought":true,"text":"t"}]}}]}`,
		`{"candidates":[{"content":{"parts":"not a list"}}]}`,
		`{"usageMetadata":{"promptTokenCount":99999999999999999999}}`,
		`{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}`,
		`{"candidates":[{"content":{"parts":[{"text":"\ud800 lone surrogate"}]}}]}`,
		`{"modelversion":"folded key","candidates":[{"INDEX":2,"content":{"PARTS":[{"Text":"x","functioncall":{"NAME":"f"}}]}}]}`,
		`{"responseId":"a","responseId":"b"}`,
		`{"usageMetadata":{"promptTokenCount":1,"prompttokencount":2}}`,
		`{"candidates":[null,{"content":{"parts":[null,{"text":"caf\u00e9 \ud83d\ude00","thought":null}]},"role":"model"}],"unknown":{"a":[1,{"b":2}]}}`,
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"bad \xff utf-8\"}]}}]}",
		`[1,2]`, `null`, `{}`, `{"candidates":[{}]}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// checkDecode: decodeResponse gives what encoding/json gives, and the fast path, where it
// answers, does too.
func checkDecode(t *testing.T, in []byte) {
	t.Helper()
	var got, want generateResponse
	gerr, werr := decodeResponse(in, &got), json.Unmarshal(in, &want)
	if (gerr == nil) != (werr == nil) || werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeResponse differs from encoding/json on %q:\n got %+v (%v)\nwant %+v (%v)", in, got, gerr, want, werr)
	}
	var fast generateResponse
	if fastResponse(in, &fast) {
		if werr != nil || !reflect.DeepEqual(fast, want) {
			t.Fatalf("fast path differs from encoding/json on %q:\n got %+v\nwant %+v (%v)", in, fast, want, werr)
		}
	}
}

func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	for _, in := range decoderInputs(t) {
		checkDecode(t, in)
	}
}

// TestFastDecodeTakesFastPath keeps the fast path from silently giving up on what Gemini sends.
func TestFastDecodeTakesFastPath(t *testing.T) {
	for _, in := range decoderInputs(t)[:12] {
		var r generateResponse
		if bytes.Contains(in, []byte(`"error"`)) {
			continue
		}
		if !fastResponse(in, &r) {
			t.Errorf("fast path gave up on %.80s", in)
		}
	}
}

// FuzzDecodeResponse checks the decoder against encoding/json and the stream's text-event fast
// path against the general path, and runs the reply and stream translations on the input: they
// never panic, and what they write is JSON.
func FuzzDecodeResponse(f *testing.F) {
	for _, in := range decoderInputs(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDecode(t, in)
		checkWireEvent(t, in)
		tr := testTranslator()
		if c, ok := tr.translateResponse(context.Background(), in, created, "m"); ok && !json.Valid(c.Body) {
			t.Fatalf("reply translated to invalid JSON: %s", c.Body)
		}
		stream := append(append([]byte("data: "), bytes.ReplaceAll(in, []byte("\n"), nil)...), "\n\n"...)
		// After a first event, the input may take the text-event fast path: same bytes as the general path.
		if fast, general, ferr, gerr := translateBoth(t, append([]byte(streamFirst), stream...), 1); !bytes.Equal(fast, general) || (ferr == nil) != (gerr == nil) {
			t.Fatalf("stream fast path differs from the general path on %q:\nfast    %s (%v)\ngeneral %s (%v)", in, fast, ferr, general, gerr)
		}
		out, _ := translateStream(t, bytes.Repeat(stream, 2), true, 2)
		for _, ev := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
			if data := strings.TrimPrefix(ev, "data: "); ev != "" && data != "[DONE]" && !json.Valid([]byte(data)) {
				t.Fatalf("stream event is not JSON: %s", data)
			}
		}
	})
}
