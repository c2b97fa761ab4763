package h1_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/h1"
	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/internal/procstat"
)

// BenchmarkRoundTrip: POST 1 KiB, 1 KiB back, to a loopback upstream (in this process: its CPU
// is in the figures, the same for both clients), through net/http's Transport and through h1,
// one at a time and in parallel. Judge by cpu-µs/op and allocs/op, side by side in one run:
//
//	go test ./dataplane/h1 -run '^$' -bench RoundTrip -benchmem -count 3
func BenchmarkRoundTrip(b *testing.B) {
	la, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(os.Stderr, "loadavg: %s", la)
	payload := strings.Repeat("a", 1<<10)
	up := newRawUpstream(b, always("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n"+payload, false), func(u *rawUpstream) { u.quiet = true })
	for _, client := range []struct {
		name string
		rt   http.RoundTripper
	}{{"net-http", proxy.NewTransport()}, {"h1", h1.New(proxy.NewTransport())}} {
		call := func(b *testing.B, buf []byte) {
			req, _ := http.NewRequest("POST", up.URL()+"/v1/chat/completions", bytes.NewReader(buf))
			req.Header.Set("Content-Type", "application/json")
			res, err := client.rt.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, res.Body); err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
		}
		body := []byte(payload)
		b.Run(client.name+"/c=1", func(b *testing.B) {
			measure(b, func() {
				for b.Loop() {
					call(b, body)
				}
			})
		})
		b.Run(client.name+"/parallel", func(b *testing.B) {
			measure(b, func() {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						call(b, body)
					}
				})
			})
		})
		client.rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	}
}

// measure runs f and reports the process's CPU time (user + system, every goroutine, the
// upstream's included) and its read and write system calls per op.
func measure(b *testing.B, f func()) {
	b.ReportAllocs()
	cpu0 := procstat.CPU()
	r0, w0 := procstat.Syscalls("self")
	f()
	r1, w1 := procstat.Syscalls("self")
	b.ReportMetric(float64(procstat.CPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(r1-r0)/float64(b.N), "reads/op")
	b.ReportMetric(float64(w1-w0)/float64(b.N), "writes/op")
}
