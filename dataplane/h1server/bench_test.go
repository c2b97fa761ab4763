package h1server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/h1server"
	"github.com/infergw/gwctl/internal/procstat"
)

// BenchmarkServe: a POST of 1 KiB answered with 1 KiB, over one loopback keep-alive connection
// per client (a raw client in this process: its CPU is in the figures, the same for both
// servers), served by net/http and by h1server, one at a time and from 32 connections. Judge
// by cpu-µs/op and allocs/op, side by side in one run (bgreads/op: h1server's delayed background
// reads started, per request):
//
//	go test ./dataplane/h1server -run '^$' -bench Serve -benchmem -count 3
func BenchmarkServe(b *testing.B) {
	la, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(os.Stderr, "loadavg: %s", la)
	payload := strings.Repeat("a", 1<<10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1024")
		_, _ = io.WriteString(w, payload)
	})
	p := startPair(b, h)
	var bgReads atomic.Int64
	h1server.SetBGReadHook(func() { bgReads.Add(1) })
	b.Cleanup(func() { h1server.SetBGReadHook(nil) })
	req := "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n" + payload
	for _, srv := range []struct{ name, addr string }{{"net-http", p.std}, {"h1server", p.fast}} {
		b.Run(srv.name+"/c=1", func(b *testing.B) {
			c := newRawClient(b, srv.addr)
			bgReads.Store(0)
			defer func() { b.ReportMetric(float64(bgReads.Load())/float64(b.N), "bgreads/op") }()
			measure(b, func() {
				for b.Loop() {
					c.do(b, req)
				}
			})
		})
		b.Run(srv.name+"/c=32", func(b *testing.B) {
			b.SetParallelism(16) // 32 with GOMAXPROCS=2
			bgReads.Store(0)
			defer func() { b.ReportMetric(float64(bgReads.Load())/float64(b.N), "bgreads/op") }()
			measure(b, func() {
				b.RunParallel(func(pb *testing.PB) {
					c := newRawClient(b, srv.addr)
					for pb.Next() {
						c.do(b, req)
					}
				})
			})
		})
	}
}

type rawClient struct {
	c  net.Conn
	br *bufio.Reader
}

func newRawClient(b *testing.B, addr string) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return &rawClient{c: c, br: bufio.NewReader(c)}
}

func (c *rawClient) do(b *testing.B, req string) {
	if _, err := io.WriteString(c.c, req); err != nil {
		b.Fatal(err)
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
}

// measure runs f and reports the process's CPU time (user + system, every goroutine, the
// client's included) and its read and write system calls per op.
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
