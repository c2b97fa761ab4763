// Package metricsparse extracts the model-server load signals an endpoint picker needs
// (queue, running, KV-cache usage, LoRA adapters, cache geometry) from a vLLM
// Prometheus text exposition, using the real exposition-format parser.
package metricsparse

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/infergw/gwctl/pkg/fastpath"
)

// vLLM metric names (GIE model-server protocol, docs/proposals/003-model-server-protocol).
const (
	MetricWaiting       = "vllm:num_requests_waiting"
	MetricRunning       = "vllm:num_requests_running"
	MetricKVUsage       = "vllm:kv_cache_usage_perc"
	MetricKVUsageLegacy = "vllm:gpu_cache_usage_perc"
	MetricLoRA          = "vllm:lora_requests_info"
	MetricCacheConfig   = "vllm:cache_config_info"
)

// Metrics is what one scrape of one endpoint yielded. A Has* flag is false when the
// series was absent, so callers can tell "0" from "not exported".
type Metrics struct {
	Waiting    float64
	Running    float64
	KVUsage    float64 // 0..1
	HasWaiting bool
	HasRunning bool
	HasKVUsage bool

	// LoRA state from the vllm:lora_requests_info series with the largest value (a timestamp).
	HasLoRA         bool
	MaxLoRA         int
	RunningAdapters []string
	WaitingAdapters []string

	// Cache geometry from vllm:cache_config_info labels; 0 when absent.
	BlockSize    int
	NumGPUBlocks int
}

// filter is whether Parse reads only the lines of the families Metrics is read from.
var filter = fastpath.Enabled(fastpath.MetricsParse)

// Parse reads a Prometheus text exposition and extracts Metrics. It fails when the text
// is not valid exposition format or when none of the queue, running or KV series is present.
// Only the lines that name a family Metrics is read from are parsed (see picked): a real vLLM
// server's histograms are most of its exposition and most of the parse, so a malformed line of
// another family no longer fails the scrape (GWCTL_NOFAST=metricsparse parses it whole).
// The picker's lines in the shape servers print are read without the exposition parser (scan).
func Parse(r io.Reader) (Metrics, error) {
	if filter {
		return parse(r, direct)
	}
	return parse(r, whole)
}

// path is how much of an exposition goes to the exposition parser.
type path int

const (
	whole       path = iota // all of it (GWCTL_NOFAST=metricsparse)
	pickedLines             // the picker's lines
	direct                  // none, when scan reads the picker's lines; else those lines
)

func parse(r io.Reader, how path) (m Metrics, err error) {
	// expfmt v0.70 panics on some malformed input (found by FuzzParse, e.g.
	// "# TYPE a histogram\n{}"); a scrape of a broken endpoint must not take the picker down.
	defer func() {
		if rec := recover(); rec != nil {
			m, err = Metrics{}, fmt.Errorf("parse metrics exposition: parser panic: %v", rec)
		}
	}()
	if how != whole {
		buf := bufs.Get().(*bytes.Buffer)
		defer putBuf(buf)
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return Metrics{}, fmt.Errorf("parse metrics exposition: %w", err)
		}
		if nameless(buf.Bytes()) {
			return fromParser(bytes.NewReader(buf.Bytes()))
		}
		lines := picked(buf.Bytes())
		if how == direct {
			if m, ok := scan(lines); ok {
				return m, m.check()
			}
		}
		r = bytes.NewReader(lines)
	}
	return fromParser(r)
}

func fromParser(r io.Reader) (Metrics, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Metrics{}, fmt.Errorf("parse metrics exposition: %w", err)
	}
	return FromFamilies(fams)
}

// FromFamilies extracts Metrics from already-parsed metric families.
func FromFamilies(fams map[string]*dto.MetricFamily) (Metrics, error) {
	var m Metrics
	if v, ok := sumGauge(fams[MetricWaiting]); ok {
		m.Waiting, m.HasWaiting = v, true
	}
	if v, ok := sumGauge(fams[MetricRunning]); ok {
		m.Running, m.HasRunning = v, true
	}
	if v, ok := maxGauge(fams[MetricKVUsage]); ok {
		m.KVUsage, m.HasKVUsage = clamp01(v), true
	} else if v, ok := maxGauge(fams[MetricKVUsageLegacy]); ok {
		m.KVUsage, m.HasKVUsage = clamp01(v), true
	}
	if f := fams[MetricLoRA]; f != nil {
		parseLoRA(f, &m)
	}
	if f := fams[MetricCacheConfig]; f != nil && len(f.GetMetric()) > 0 {
		for _, lp := range f.GetMetric()[0].GetLabel() {
			switch lp.GetName() {
			case "block_size":
				m.BlockSize = atoiPositive(lp.GetValue())
			case "num_gpu_blocks":
				m.NumGPUBlocks = atoiPositive(lp.GetValue())
			}
		}
	}
	return m, m.check()
}

// check fails when none of the queue, running or KV series was present.
func (m *Metrics) check() error {
	if !m.HasWaiting && !m.HasRunning && !m.HasKVUsage {
		return fmt.Errorf("metrics exposition has none of %s, %s, %s or %s", MetricWaiting, MetricRunning, MetricKVUsage, MetricKVUsageLegacy)
	}
	return nil
}

func parseLoRA(f *dto.MetricFamily, m *Metrics) {
	var best *dto.Metric
	bestV := math.Inf(-1)
	for _, mt := range f.GetMetric() {
		v, ok := value(mt)
		if ok && v > bestV {
			best, bestV = mt, v
		}
	}
	if best == nil {
		return
	}
	m.HasLoRA = true
	for _, lp := range best.GetLabel() {
		switch lp.GetName() {
		case "max_lora":
			m.MaxLoRA = atoiPositive(lp.GetValue())
		case "running_lora_adapters":
			m.RunningAdapters = splitList(lp.GetValue())
		case "waiting_lora_adapters":
			m.WaitingAdapters = splitList(lp.GetValue())
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func atoiPositive(s string) int {
	// vLLM prints some integers as floats ("16.0") in info labels.
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || f > math.MaxInt32 || math.IsNaN(f) {
		return 0
	}
	return int(f)
}

func value(mt *dto.Metric) (float64, bool) {
	var v float64
	switch {
	case mt.Gauge != nil:
		v = mt.Gauge.GetValue()
	case mt.Counter != nil:
		v = mt.Counter.GetValue()
	case mt.Untyped != nil:
		v = mt.Untyped.GetValue()
	default:
		return 0, false
	}
	if math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// sumGauge adds the series (vLLM exposes one per model_name/engine; data-parallel ranks add up).
func sumGauge(f *dto.MetricFamily) (float64, bool) {
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, mt := range f.GetMetric() {
		if v, ok := value(mt); ok {
			sum += v
			found = true
		}
	}
	return sum, found
}

func maxGauge(f *dto.MetricFamily) (float64, bool) {
	if f == nil {
		return 0, false
	}
	best, found := math.Inf(-1), false
	for _, mt := range f.GetMetric() {
		if v, ok := value(mt); ok && v > best {
			best, found = v, true
		}
	}
	return best, found
}

func clamp01(v float64) float64 {
	switch {
	case v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

// families are the names Metrics is read from; every line of one of them (# HELP, # TYPE, a
// sample, a histogram's or summary's _bucket/_sum/_count, a quoted name) contains its name.
var families = [...][]byte{[]byte(MetricWaiting), []byte(MetricRunning), []byte(MetricKVUsage), []byte(MetricKVUsageLegacy),
	[]byte(MetricLoRA), []byte(MetricCacheConfig)}

var prefix, helpLine = []byte("vllm:"), []byte("# HELP ")

// picked keeps, in place, the lines of b that contain one of the families' names, in their
// order, except # HELP lines (their text is not read). The text format is one line per entry, so each family's lines parse alone as they
// parse among the others (FuzzParse compares the two); a kept line of another family that
// merely mentions a name (in a label value) parses as before and is not read.
func picked(b []byte) []byte {
	w := 0
	for rest := b; len(rest) > 0; {
		n := bytes.IndexByte(rest, '\n') + 1
		if n == 0 {
			n = len(rest)
		}
		line := rest[:n]
		rest = rest[n:]
		if !bytes.Contains(line, prefix) || bytes.HasPrefix(line, helpLine) {
			continue
		}
		for _, f := range families {
			if bytes.Contains(line, f) {
				w += copy(b[w:], line)
				break
			}
		}
	}
	return b[:w]
}

// nameless is whether a line of b starts with '{': a sample whose name is quoted inside the
// braces or missing, which the exposition parser may count in the family before it, so the
// family of the line cannot be told from the line (FuzzParse found "vllm:num_requests_running
// 0\n{}1\n"). Servers do not print these; such an exposition is parsed whole.
func nameless(b []byte) bool {
	return len(b) > 0 && b[0] == '{' || bytes.Contains(b, []byte("\n{"))
}

// bufs holds scrape buffers: a pool's scrapes each read a whole exposition.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // a huge exposition's buffer is left to the collector
		bufs.Put(b)
	}
}
