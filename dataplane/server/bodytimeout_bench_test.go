package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkBodyTimeout is one keep-alive connection posting 1 KB bodies that the handler
// reads to their end, without and with RequestBodyTimeout: the timeout's cost at c=1
// (wall time per request, which includes waking threads).
func BenchmarkBodyTimeout(b *testing.B) {
	req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n%s", strings.Repeat("x", 1024))
	for _, d := range []time.Duration{0, time.Minute} {
		b.Run(fmt.Sprintf("timeout=%v", d), func(b *testing.B) {
			s := New(Options{RequestBodyTimeout: d, DisableAccessLog: true, ShutdownTimeout: time.Second})
			s.Swap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				_, _ = io.WriteString(w, "ok")
			}), nil)
			c, err := net.Dial("tcp", serveOn(b, s))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := io.WriteString(c, req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
