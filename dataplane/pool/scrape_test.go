package pool

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// A scrape reads the exposition at once but parses it only in a free parse slot: with every
// slot taken (as by other pools' parses) the endpoint gets no sample, and it gets one as soon
// as a slot frees.
func TestScrapeParsesInASlot(t *testing.T) {
	sim, err := vllmsim.New(vllmsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		sim.ServeHTTP(w, r)
	}))
	defer ts.Close()
	p := testPool(t, DefaultScheduler())
	e := &endpoint{addr: strings.TrimPrefix(ts.URL, "http://"), slot: p.index.addSlot(p.cfg.Scheduler.LRUCapacity)}

	for range cap(parseSlots) {
		parseSlots <- struct{}{}
	}
	held := true
	release := func() {
		if held {
			for range cap(parseSlots) {
				<-parseSlots
			}
			held = false
		}
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { p.scrapeOnce(ctx, e); close(done) }()

	// The reply is read while every slot is taken: the simulator has answered its request.
	deadline := time.Now().Add(10 * time.Second)
	for asked.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the scrape did not ask for the metrics within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("the scrape finished with every parse slot taken")
	case <-time.After(50 * time.Millisecond): // the parse would take microseconds if it ran
	}
	if e.last.Load() != nil {
		t.Fatal("the endpoint has a sample parsed without a slot")
	}
	release()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the scrape did not finish once the slots were free")
	}
	if e.last.Load() == nil {
		t.Fatalf("no sample after the scrape (fails %d)", e.fails.Load())
	}
}
