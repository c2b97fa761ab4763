package pool

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/internal/procstat"
)

// BenchmarkScrapeRound is the scraping process's cost of one round over eight endpoints (per
// op: a round; allocs and B per round; cpu-ns/op is the process's CPU, the servers' included),
// against servers that answer from a fixed reply with nothing allocated, so the allocations
// are the scraper's. With GWCTL_NOFAST=scrapebatch a round is a
// goroutine per endpoint through the pool's HTTP client.
func BenchmarkScrapeRound(b *testing.B) {
	var reply bytes.Buffer
	{
		sim, err := vllmsim.New(vllmsim.Config{})
		if err != nil {
			b.Fatal(err)
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		fmt.Fprintf(&reply, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %d\r\n\r\n%s", rec.Body.Len(), rec.Body.Bytes())
	}
	var src StaticSource
	var wg sync.WaitGroup
	var lns []net.Listener
	b.Cleanup(func() { // after the pool's Close, which ends the servers' connections
		for _, ln := range lns {
			ln.Close()
		}
		wg.Wait()
	})
	for range 8 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lns = append(lns, ln)
		src = append(src, ln.Addr().String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					br := bufio.NewReader(c)
					for {
						// Each request ends with an empty line; nothing else is read.
						for {
							l, err := br.ReadSlice('\n')
							if err != nil {
								return
							}
							if len(bytes.TrimSpace(l)) == 0 {
								break
							}
						}
						if _, err := c.Write(reply.Bytes()); err != nil {
							return
						}
					}
				}()
			}
		}()
	}
	sc := DefaultScheduler()
	sc.ScrapeInterval = time.Hour // rounds run only here
	p, err := New(Config{Name: "bench/scrape", Source: src, Scheduler: sc}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(); p.scrapeClient.CloseIdleConnections() })
	p.setEndpoints(src)
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	round := func() {
		r := p.sendRound()
		p.wg.Add(1) // receiveRound's loop owns one count when it hands on
		if p.receiveRound(t, r, new(atomic.Int32)) {
			p.wg.Done()
		}
		p.wg.Wait() // the endpoints scraped alone
	}
	round()
	round()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := procstat.CPU()
	for b.Loop() {
		round()
	}
	b.StopTimer()
	b.ReportMetric(float64(procstat.CPU()-cpu0)/float64(b.N), "cpu-ns/op")
	for _, e := range *p.eps.Load() {
		if e.last.Load() == nil || e.fails.Load() != 0 {
			b.Fatalf("endpoint %s: sample %v, %d failures", e.addr, e.last.Load() != nil, e.fails.Load())
		}
	}
}
