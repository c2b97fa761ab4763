package metricsparse

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	full, err := os.ReadFile("testdata/vllm.prom")
	if err != nil {
		t.Fatal(err)
	}
	real, err := os.ReadFile("testdata/vllm-full.prom")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    Metrics
		wantErr string
		slowErr string // what parsing the whole exposition says instead (GWCTL_NOFAST=metricsparse)
	}{
		{
			name: "vllm v1 exposition",
			in:   string(full),
			want: Metrics{
				Waiting: 7, Running: 4, KVUsage: 0.4275, HasWaiting: true, HasRunning: true, HasKVUsage: true,
				HasLoRA: true, MaxLoRA: 4, RunningAdapters: []string{"sql-lora", "tweet-lora"},
				BlockSize: 16, NumGPUBlocks: 31250,
			},
		},
		{
			name: "legacy gpu_cache_usage_perc, untyped, data-parallel ranks summed",
			in: "vllm:gpu_cache_usage_perc 0.5\n" +
				"vllm:num_requests_waiting{engine=\"0\"} 1\nvllm:num_requests_waiting{engine=\"1\"} 2\n",
			want: Metrics{Waiting: 3, KVUsage: 0.5, HasWaiting: true, HasKVUsage: true},
		},
		{
			name: "new kv name wins over legacy; out of range clamped",
			in:   "vllm:gpu_cache_usage_perc 0.5\nvllm:kv_cache_usage_perc 1.5\n",
			want: Metrics{KVUsage: 1, HasKVUsage: true},
		},
		{
			name: "cache config floats",
			in:   "vllm:num_requests_running 0\nvllm:cache_config_info{block_size=\"32.0\",num_gpu_blocks=\"None\"} 1\n",
			want: Metrics{HasRunning: true, BlockSize: 32},
		},
		{
			name: "a real server's whole exposition",
			in:   string(real),
			want: Metrics{
				Waiting: 7, Running: 4, KVUsage: 0.4275, HasWaiting: true, HasRunning: true, HasKVUsage: true,
				HasLoRA: true, MaxLoRA: 4, RunningAdapters: []string{"sql-lora", "tweet-lora"},
				BlockSize: 16, NumGPUBlocks: 31250,
			},
		},
		{
			name:    "a malformed line of a family the picker does not read",
			in:      "vllm:num_requests_waiting 2\nvllm:e2e_request_latency_seconds_bucket{le= 1\n",
			want:    Metrics{Waiting: 2, HasWaiting: true},
			slowErr: "parse metrics exposition",
		},
		{name: "no vllm series", in: "up 1\n", wantErr: "has none of"},
		{name: "garbage", in: "vllm:num_requests_waiting{ 1\n", wantErr: "parse metrics exposition"},
	}
	for _, how := range []path{direct, pickedLines, whole} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/path=%d", tc.name, how), func(t *testing.T) {
				got, err := parse(strings.NewReader(tc.in), how)
				if how == whole && tc.slowErr != "" {
					tc.wantErr = tc.slowErr
				}
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %+v\nwant %+v", got, tc.want)
				}
			})
		}
	}
}

// FuzzParse checks that Parse never panics or returns out-of-range values, that parsing
// only the picker's lines (the fast path) says what parsing the whole exposition says whenever
// that succeeds or fails for want of the picker's series (the fast path may only accept an
// exposition whose other families are malformed), and that whatever scan reads without the
// exposition parser is what that parser's reading of the same lines gives.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/vllm.prom"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("vllm:num_requests_waiting 1\n"))
	f.Add([]byte("# TYPE vllm:num_requests_waiting histogram\nvllm:num_requests_waiting_bucket{le=\"1\"} 1\nx{a=\"vllm:num_requests_running\"} 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parse(strings.NewReader(string(b)), direct)
		lines, linesErr := parse(strings.NewReader(string(b)), pickedLines)
		if _, ok := scan(picked(bytes.Clone(b))); ok {
			if !reflect.DeepEqual(m, lines) || (err == nil) != (linesErr == nil) {
				t.Fatalf("scan: %+v, %v; exposition parser: %+v, %v", m, err, lines, linesErr)
			}
		} else if !reflect.DeepEqual(m, lines) || fmt.Sprint(err) != fmt.Sprint(linesErr) {
			t.Fatalf("scan declined, yet: %+v, %v; exposition parser: %+v, %v", m, err, lines, linesErr)
		}
		all, wholeErr := parse(strings.NewReader(string(b)), whole)
		if wholeErr == nil || strings.Contains(wholeErr.Error(), "has none of") {
			if !reflect.DeepEqual(m, all) || (err == nil) != (wholeErr == nil) {
				t.Fatalf("picked lines: %+v, %v; whole exposition: %+v, %v", m, err, all, wholeErr)
			}
		}
		if err != nil {
			return
		}
		if m.KVUsage < 0 || m.KVUsage > 1 || m.BlockSize < 0 || m.NumGPUBlocks < 0 || m.MaxLoRA < 0 {
			t.Fatalf("out of range: %+v", m)
		}
	})
}

// scan reads the picker's lines as servers print them (the simulator's, a real vLLM server's)
// and leaves every other shape to the exposition parser.
func TestScanShapes(t *testing.T) {
	sim, err := os.ReadFile("testdata/vllm.prom")
	if err != nil {
		t.Fatal(err)
	}
	real, err := os.ReadFile("testdata/vllm-full.prom")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		read bool
	}{
		{"simulator", string(sim), true},
		{"real vLLM server", string(real), true},
		{"no labels, counter", "# TYPE vllm:num_requests_waiting counter\nvllm:num_requests_waiting 3\n", true},
		{"NaN and Inf", "vllm:num_requests_waiting NaN\nvllm:kv_cache_usage_perc +Inf\n", true},
		{"escaped label value", "vllm:num_requests_waiting{m=\"a\\\"b\"} 1\n", false},
		{"timestamp", "vllm:num_requests_waiting 1 1700000000\n", false},
		{"no final newline", "vllm:num_requests_waiting 1", false},
		{"histogram type", "# TYPE vllm:num_requests_waiting histogram\n", false},
		{"type after samples", "vllm:num_requests_waiting 1\n# TYPE vllm:num_requests_waiting gauge\n", false},
		{"another family naming one", "x{a=\"vllm:num_requests_waiting\"} 1\nvllm:num_requests_waiting 1\n", false},
		{"longer name", "vllm:num_requests_waiting_total 1\n", false},
		{"trailing comma", "vllm:num_requests_waiting{a=\"b\",} 1\n", false},
		{"repeated label", "vllm:num_requests_waiting{a=\"b\",a=\"c\"} 1\n", false},
		{"reserved label", "vllm:num_requests_waiting{__name__=\"b\"} 1\n", false},
		{"two spaces", "vllm:num_requests_waiting  1\n", false},
		{"hex float", "vllm:num_requests_waiting 0x1p0\n", false},
		{"invalid UTF-8 label value", "vllm:num_requests_waiting{a=\"\xff\"} 1\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := scan(picked([]byte(tc.in))); ok != tc.read {
				t.Fatalf("scan read it: %v, want %v", ok, tc.read)
			}
		})
	}
}

// A line starting with '{' (a quoted or missing metric name) may count in the family before it,
// which a filter of the picker's lines cannot tell: such an exposition is parsed whole, on every
// path (FuzzParse found the filter disagreeing).
func TestParseNamelessLine(t *testing.T) {
	in := "vllm:num_requests_running 0\n{}1\n"
	want, wantErr := parse(strings.NewReader(in), whole)
	for _, how := range []path{direct, pickedLines} {
		got, err := parse(strings.NewReader(in), how)
		if !reflect.DeepEqual(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Errorf("path %d: %+v, %v; whole: %+v, %v", how, got, err, want, wantErr)
		}
	}
}
