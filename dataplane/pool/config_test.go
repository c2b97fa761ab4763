package pool

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{Name: "ns/p", Source: StaticSource{"127.0.0.1:1"}}
	if err := c.setDefaults(); err != nil {
		t.Fatal(err)
	}
	s := c.Scheduler
	if c.FailureMode != FailClose || s.Picker != PickerMaxScore || s.Weights != (Weights{Queue: 2, KVCache: 2, Prefix: 3, LoRA: 1}) ||
		!s.InFlight || s.SaturationFilter || !s.ShedWhenAllSaturated || s.SaturatedLeastLoaded || s.Fallbacks != 2 || s.ScrapeInterval != 50*time.Millisecond ||
		s.QueueThreshold != 5 || s.KVThreshold != 0.8 || s.SaturationStaleness != 200*time.Millisecond ||
		s.BlockSizeTokens != 16 || s.CharsPerToken != 4 || s.MaxPrefixBlocks != 256 || s.LRUCapacity != 31250 {
		t.Fatalf("defaults: %+v %+v", c, s)
	}
	// A zero scheduler with only tuning fields set keeps them.
	c = Config{Source: StaticSource{}, Scheduler: SchedulerConfig{ScrapeInterval: time.Second}}
	_ = c.setDefaults()
	if c.Scheduler.ScrapeInterval != time.Second || !c.Scheduler.InFlight {
		t.Fatalf("tuning field lost: %+v", c.Scheduler)
	}
	// The reference profile stays the reference.
	c = Config{Source: StaticSource{}, Scheduler: ReferenceScheduler()}
	_ = c.setDefaults()
	if c.Scheduler.InFlight || c.Scheduler.SaturationFilter || c.Scheduler.ShedWhenAllSaturated || c.Scheduler.Fallbacks != 0 || c.Scheduler.Weights.LoRA != 0 {
		t.Fatalf("reference altered: %+v", c.Scheduler)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "p"}, "no endpoint source"},
		{Config{Source: StaticSource{}, FailureMode: "Sometimes"}, "failureMode"},
		{Config{Source: StaticSource{}, TargetPorts: []int{0}}, "out of range"},
		{Config{Source: StaticSource{}, Scheduler: SchedulerConfig{Picker: "best"}}, "unknown picker"},
		{Config{Source: StaticSource{}, Scheduler: SchedulerConfig{Weights: Weights{Queue: -1}}}, "negative weight"},
	}
	for _, tc := range tests {
		if _, err := New(tc.cfg, nil, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestSources(t *testing.T) {
	got, err := StaticSource{"10.0.0.1:8000", "[::1]:8001"}.Endpoints(context.Background(), nil)
	if err != nil || len(got) != 2 {
		t.Fatalf("static: %v %v", got, err)
	}
	if _, err := (StaticSource{"10.0.0.1"}).Endpoints(context.Background(), nil); err == nil {
		t.Fatal("static source accepted an address without port")
	}
	got, err = DNSSource{Host: "localhost"}.Endpoints(context.Background(), []int{8000, 8001})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "127.0.0.1:8000") || !slices.Contains(got, "127.0.0.1:8001") {
		t.Fatalf("dns: %v, want each address crossed with each target port", got)
	}
	if _, err := (DNSSource{Host: "localhost"}).Endpoints(context.Background(), nil); err == nil {
		t.Fatal("dns source without target ports")
	}
}
