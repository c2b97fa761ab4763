package gemini

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// streamFirst starts a stream (role chunk of candidate 0) so the events after it can take the
// fast path.
const streamFirst = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r-1\"}\r\n\r\n"

// fastStreamEvents are events after the first: the common shape and variants the fast path must
// leave to the general path (or translate to the same bytes).
var fastStreamEvents = []string{
	`{"candidates": [{"content": {"parts": [{"text": " plain ascii ~ DEL\u007f? no: escaped"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"totalTokenCount": 9,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 9}]},"modelVersion": "gemini-2.5-flash","responseId": "r-1"}`,
	`{"candidates":[{"content":{"parts":[{"text":"word 1, "}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":1836,"candidatesTokenCount":2,"totalTokenCount":1838,"cachedContentTokenCount":1024},"modelVersion":"gemini-2.5-flash","responseId":"r-1"}`,
	`{"candidates":[{"content":{"parts":[{"text":"<b>&'` + "\x7f" + `</b>"}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"index":0}],"usageMetadata":{"thoughtsTokenCount":3,"candidatesTokenCount":4}}`,
	`{"candidates":[{"content":{"parts":[],"role":"model"},"index":0}]}`,
	`{"candidates":[]}`,
	`{"candidates":[{"content":{"parts":[{"text":"é non-ASCII"}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"tab\tescape"}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"a"},{"text":"b"}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"dup","text":"x"}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"thought","thought":true}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"fin"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":14,"totalTokenCount":23}}`,
	`{"candidates":[{"content":{"parts":[{"text":"idx"}],"role":"model"},"index":1}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"neg"}],"role":"model"},"index":-1}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"float"}],"role":"model"},"index":0.0}]}`,
	`{"Candidates":[{"content":{"parts":[{"text":"case"}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"\u0074ext":"escaped key"}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"u"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":1.5}}`,
	`{"candidates":[{"content":{"parts":[{"text":"u"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":99999999999999999999}}`,
	`{"candidates":[{"content":{"parts":[{"text":"u"}],"role":"model"},"index":0}],"usageMetadata":null}`,
	`{"candidates":[{"content":{"parts":[{"text":"u"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":1,"promptTokenCount":2}}`,
	`{"candidates":[{"content":{"parts":[{"text":"v"}],"role":"model"},"index":0}],"createTime":"2025-01-01T00:00:00Z"}`,
	`{"candidates":[{"content":{"parts":[{"text":"trailing"}],"role":"model"},"index":0}]} x`,
	`{"candidates":[{"content":{"parts":[{"text":"unterminated}],"role":"model"},"index":0}]}`,
	`{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}`,
	// Other member orders and spacing, for wireTextEvent (which reads Gemini's order only).
	`{"candidates":[{"content":{"role":"model","parts":[{"text":"role first"}]},"index":0}]}`,
	`{"candidates":[{"index":0,"content":{"parts":[{"text":"index first"}],"role":"model"}}]}`,
	`{"modelVersion":"m","candidates":[{"content":{"parts":[{"text":"model first"}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"id before usage"}],"role":"model"},"index":0}],"responseId":"r-1","usageMetadata":{"promptTokenCount":3}}`,
	`{"candidates":[{"content":{"parts":[{"text":"twice"}],"role":"model"},"index":0}],"modelVersion":"m","modelVersion":"n"}`,
	`{"candidates":[{"content":{"parts":[{"text":"usage twice"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":3},"usageMetadata":{"promptTokenCount":4}}`,
	"{ \"candidates\" :\n[ { \"content\" : { \"parts\" : [ { \"text\" : \"spaced\" } ] , \"role\" : \"model\" } , \"index\" : 0 } ] , \"usageMetadata\" : { \"totalTokenCount\" : 7 } }",
	`{"candidates":[{"content":{"parts":[{"text":"user"}],"role":"user"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"zeros"}],"role":"model"},"index":00}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"exp"}],"role":"model"},"index":0e0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"neg usage"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":-3}}`,
	`{"candidates":[{"content":{"parts":[{"text":"details"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokensDetails":[{"tokenCount":1,"modality":"TEXT"},{}],"cacheTokensDetails":[]}}`,
	`{"candidates":[{"content":{"parts":[{"text":"bad details"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokensDetails":[{"modality":"TEXT","modality":"IMAGE"}]}}`,
	`{"candidates":[{"content":{"parts":[{"text":"unknown usage"}],"role":"model"},"index":0}],"usageMetadata":{"trafficType":"ON_DEMAND"}}`,
	`{"candidates":[{"content":{"parts":[{"text":"case usage"}],"role":"model"},"index":0}],"usageMetadata":{"PromptTokenCount":3}}`,
	`{"candidates":[{"content":{"parts":[{"text":"bad id"}],"role":"model"},"index":0}],"responseId":"\x"}`,
	`{"candidates":[{"content":{"parts":[{"text":"no colon"}],"role":"model"},"index":0}],"modelVersion""m"}`,
}

func streamOf(events ...string) []byte {
	b := []byte(streamFirst)
	for _, e := range events {
		b = append(b, "data: "+e+"\r\n\r\n"...)
	}
	return append(b, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\".\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}]}\r\n\r\n"...)
}

// translateBoth translates sse with the fast path on and off.
func translateBoth(t testing.TB, sse []byte, n int64) (fast, general []byte, ferr, gerr error) {
	t.Helper()
	defer func(was bool) { fastJSON = was }(fastJSON)
	fastJSON = true
	fast, ferr = translateStream(t, sse, true, n)
	fastJSON = false
	general, gerr = translateStream(t, sse, true, n)
	return fast, general, ferr, gerr
}

// TestFastStreamMatchesGeneralPath: the text-event fast path writes what the general path
// writes, byte for byte, on the recorded-shape streams and on every variant above.
func TestFastStreamMatchesGeneralPath(t *testing.T) {
	inputs := map[string][]byte{"bench": benchStream()}
	files, _ := filepath.Glob("testdata/stream/*.sse")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(f)] = b
	}
	for i, e := range fastStreamEvents {
		inputs["variant "+string(rune('a'+i))] = streamOf(e)
	}
	for i, e := range wireRefused {
		inputs["wire refused "+string(rune('a'+i))] = streamOf(e)
	}
	inputs["all variants"] = streamOf(fastStreamEvents...)
	for name, in := range inputs {
		n := candidatesOf(name)
		fast, general, ferr, gerr := translateBoth(t, in, n)
		if !bytes.Equal(fast, general) || (ferr == nil) != (gerr == nil) {
			t.Errorf("%s: fast path differs from the general path\nfast    %s (%v)\ngeneral %s (%v)", name, fast, ferr, general, gerr)
		}
	}
}

// TestFastStreamTakesFastPath keeps the fast path from silently giving up on what it is for:
// the recorded shape (spaces, usage details), the compact one, HTML characters, empty text,
// no parts, and the benchmark's events.
func TestFastStreamTakesFastPath(t *testing.T) {
	events := append([]string(nil), fastStreamEvents[1:5]...)
	events = append(events, `{"candidates": [{"content": {"parts": [{"text": " plain"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"totalTokenCount": 9,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 9}]},"modelVersion": "gemini-2.5-flash","responseId": "r-1"}`)
	for _, ev := range bytes.Split(bytes.TrimSpace(benchStream()), []byte("\r\n\r\n"))[:59] {
		events = append(events, string(bytes.TrimPrefix(ev, []byte("data: "))))
	}
	for _, e := range events {
		if !fastTextEvent([]byte(e), new(textEvent)) {
			t.Errorf("fast path gave up on %.100s", e)
		}
		if !wireTextEvent([]byte(e), new(textEvent)) {
			t.Errorf("wire path gave up on %.100s", e)
		}
	}
}

// TestWireTextEventMatchesFastTextEvent: what wireTextEvent reads (Gemini's member order),
// fastTextEvent reads the same way, and wireTextEvent gives up on the other orders.
func TestWireTextEventMatchesFastTextEvent(t *testing.T) {
	events := append([]string(nil), fastStreamEvents...)
	files, _ := filepath.Glob("testdata/stream/*.sse")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range bytes.Split(bytes.TrimSpace(b), []byte("\r\n\r\n")) {
			events = append(events, string(bytes.TrimPrefix(ev, []byte("data: "))))
		}
	}
	wired := 0
	for _, e := range events {
		if checkWireEvent(t, []byte(e)) {
			wired++
		}
	}
	if wired < 10 {
		t.Errorf("the wire path read only %d of %d events", wired, len(events))
	}
	for _, e := range wireRefused {
		if wireTextEvent([]byte(e), new(textEvent)) {
			t.Errorf("wire path read %s", e)
		}
	}
}

// wireRefused are events in another member order, or with a fault after a prefix the wire path
// reads: it must leave them to the fast path.
var wireRefused = []string{
	`{"candidates":[{"content":{"role":"model","parts":[{"text":"role first"}]},"index":0}]}`,
	`{"candidates":[{"index":0,"content":{"parts":[{"text":"index first"}],"role":"model"}}]}`,
	`{"modelVersion":"m","candidates":[{"content":{"parts":[{"text":"model first"}],"role":"model"},"index":0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"id before usage"}],"role":"model"},"index":0}],"responseId":"r-1","usageMetadata":{"promptTokenCount":3}}`,
	`{"candidates":[{"content":{"parts":[{"text":"twice"}],"role":"model"},"index":0}],"modelVersion":"m","modelVersion":"n"}`,
	`{"candidates":[{"content":{"parts":[{"text":"zeros"}],"role":"model"},"index":00}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"exp"}],"role":"model"},"index":0e0}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"neg usage"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":-3}}`,
	`{"candidates":[{"content":{"parts":[{"text":"bad details"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokensDetails":[{"modality":"TEXT","modality":"IMAGE"}]}}`,
	`{"candidates":[{"content":{"parts":[{"text":"bad id"}],"role":"model"},"index":0}],"responseId":"\x"}`,
	`{"candidates":[{"content":{"parts":[{"text":"no colon"}],"role":"model"},"index":0}],"modelVersion""m"}`,
	`{"candidates":[{"content":{"parts":[{"text":"trailing"}],"role":"model"},"index":0}]} x`,
}

// checkWireEvent fails when wireTextEvent reads data differently from fastTextEvent; it
// reports whether wireTextEvent read it.
func checkWireEvent(t testing.TB, data []byte) bool {
	t.Helper()
	var wire, fast textEvent
	if !wireTextEvent(data, &wire) {
		return false
	}
	if !fastTextEvent(data, &fast) {
		t.Fatalf("wire path read what the fast path refuses: %s", data)
	}
	wu, fu := wire.usage, fast.usage
	if (wu.ThoughtsTokenCount == nil) != (fu.ThoughtsTokenCount == nil) || wire.thoughts != fast.thoughts {
		t.Fatalf("thoughts differ on %s", data)
	}
	wu.ThoughtsTokenCount, fu.ThoughtsTokenCount = nil, nil
	if wire.index != fast.index || wire.seen != fast.seen || !bytes.Equal(wire.lit, fast.lit) || wu != fu || wire.hasUsage != fast.hasUsage {
		t.Fatalf("wire path read %+v, fast path %+v from %s", wire, fast, data)
	}
	return true
}
