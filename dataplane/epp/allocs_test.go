package epp

import (
	"runtime"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/internal/testenv"
)

// A pick through the EPP (both ends in this process, BenchmarkPick's epp) allocates less than
// two of its 4 KB bodies, at most 100 times: the client's request and the picker's reply carry
// the body once each, neither end copies it out of the message it decodes (decodeBodyRequest,
// decodeBodyReply), and the client encodes its headers message by hand (headersRequest),
// decodes the headers reply without its metadata's Struct (decodeHeadersReply) and the header
// blocks into one reused field slice (h2FieldBlock). With protobuf's copies a pick allocated
// 19.5 KB; with protobuf's headers messages and the framer's header blocks, 9.4 KB in 136
// allocations.
func TestPickBytesPerPick(t *testing.T) {
	if !h2Fast || !fastServer {
		t.Skip("GWCTL_NOFAST: the decoders this bounds are off")
	}
	if testenv.RaceSlowdown > 1 {
		t.Skip("the race detector makes sync.Pool drop what it is given")
	}
	pb := newPickBench(t, pool.SchedulerConfig{ScrapeInterval: time.Second, StalenessThreshold: time.Hour, SaturationStaleness: time.Hour}, nil)
	waitFor(t, 10*time.Second, "the EPP to pick", func() bool { return pb.throughEPP() == nil })
	const n = 500
	for range 50 { // the pools' buffers grown
		if err := pb.throughEPP(); err != nil {
			t.Fatal(err)
		}
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range n {
		if err := pb.throughEPP(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&m1)
	// The scrapes of eight simulators by two pools (once a second) fall in the window too.
	perPick := float64(m1.TotalAlloc-m0.TotalAlloc) / n
	allocs := float64(m1.Mallocs-m0.Mallocs) / n
	body := len(pickBody())
	t.Logf("%.0f bytes in %.1f allocations per pick (body %d)", perPick, allocs, body)
	if perPick > 2*float64(body) {
		t.Errorf("a pick allocates %.0f bytes, want under %d (2 bodies)", perPick, 2*body)
	}
	if allocs > 100 {
		t.Errorf("a pick allocates %.1f times, want at most 100", allocs)
	}
}
