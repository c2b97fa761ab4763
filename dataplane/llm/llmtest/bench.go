package llmtest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// StreamRequest turns a chat request with "stream":false into the streamed one that asks for
// usage, as LiteLLM sends it.
func StreamRequest(body []byte) []byte {
	return bytes.Replace(body, []byte(`"stream":false`), []byte(`"stream":true,"stream_options":{"include_usage":true}`), 1)
}

// BenchChat serves h on loopback and posts body to /v1/chat/completions once per benchmark
// iteration, failing on any answer but a non-empty 200: the whole-request benchmark every
// backend handler shares.
func BenchChat(b *testing.B, h http.Handler, body []byte) {
	b.Helper()
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	client := srv.Client()
	url := srv.URL + "/v1/chat/completions"
	b.ReportAllocs()
	defer ReportCPU(b)()
	for b.Loop() {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n == 0 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}

// ReportCPU starts counting the process's CPU time (user and system, every thread: client,
// handler, fake upstream, GC) and returns the function that reports it per iteration as
// cpu-ns/op: on a shared host wall-clock ns/op swings with the load, CPU per op much less.
func ReportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
