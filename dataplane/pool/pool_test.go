package pool

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

func fastSim() vllmsim.Config {
	return vllmsim.Config{MaxNumSeqs: 4, DecodePerToken: time.Millisecond, PrefillPerToken: 10 * time.Microsecond, Speed: 1}
}

func fastSched() SchedulerConfig {
	s := DefaultScheduler()
	s.ScrapeInterval = 5 * time.Millisecond
	s.StalenessThreshold = 300 * time.Millisecond
	s.ScrapeTimeout = 100 * time.Millisecond
	s.UnhealthyAfter = 2
	return s
}

func TestPoolProxiesAndLearnsPrefix(t *testing.T) {
	sims := startFleet(t, 4, fastSim())
	_, srv := startPool(t, Config{Source: addrs(sims), Scheduler: fastSched()}, 4)
	system := strings.Repeat("You are a careful assistant. ", 40)
	var first string
	for i := range 5 {
		res, err := doChat(context.Background(), srv.Client(), srv.URL, chatBody("sim-model", system, "question", 4, true), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.status != 200 || res.outTok != 4 || res.chunks != 4 {
			t.Fatalf("request %d: %+v", i, res)
		}
		if i == 0 {
			first = res.served
			continue
		}
		if res.served != first {
			t.Fatalf("request %d served by %s, want prefix affinity to %s", i, res.served, first)
		}
		if res.cached == 0 {
			t.Fatalf("request %d: no cached tokens on the affine endpoint", i)
		}
	}
}

func TestPoolErrors(t *testing.T) {
	sims := startFleet(t, 1, fastSim())
	_, srv := startPool(t, Config{Source: addrs(sims), Scheduler: fastSched()}, 1)
	res, err := doChat(context.Background(), srv.Client(), srv.URL, []byte(`{"messages":[]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.status != http.StatusBadRequest || res.errType != "invalid_request_error" || !strings.Contains(res.body, `no \"model\"`) {
		t.Fatalf("missing model: %+v", res)
	}

	_, empty := startPool(t, Config{Name: "default/empty", Source: StaticSource{}, Scheduler: fastSched()}, 0)
	res, err = doChat(context.Background(), empty.Client(), empty.URL, chatBody("sim-model", "s", "u", 1, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.status != http.StatusServiceUnavailable || res.errType != "service_unavailable" {
		t.Fatalf("no endpoints: %+v", res)
	}
}
