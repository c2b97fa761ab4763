// Package fastpath is the kill switch of gwctl's hand-written fast paths (parsers, evaluators and
// encoders that replace a library and are checked against it): GWCTL_NOFAST turns them off, so
// the library is what runs, what `make test-nofast` tests and what a benchmark compares with.
package fastpath

import (
	"os"
	"slices"
	"strings"
)

// Env is the variable: "1", "true" or "all" turns every fast path off, a comma-separated list of
// names ("yaml,cel") turns off those; unset, "" or "0" leaves them all on. A name not in Names
// turns every fast path off, so a typo errs on the side of the library.
const Env = "GWCTL_NOFAST"

// The fast paths, by the names GWCTL_NOFAST knows.
const (
	YAML       = "yaml"       // pkg/manifest: the YAML front end, before yaml.v3
	CEL        = "cel"        // pkg/validate/schema: celnative's evaluator, before cel-go
	CELAdaptor = "celadaptor" // pkg/validate/schema: celnative's value adaptor for cel-go, vs apiextensions' model.Structural
	JSONValue  = "jsonvalue"  // pkg/jsonvalue: manifest values and strings, vs encoding/json.Marshal
	JSONReport = "jsonreport" // pkg/report: the JSON report, vs encoding/json's indenting Encoder
	Anthropic  = "anthropic"  // dataplane/llm/anthropic: decoders, request encoder, stream deltas, vs encoding/json
	Gemini     = "gemini"     // dataplane/llm/gemini: request, response and stream event decoders (jsonscan) and stream text events, vs encoding/json
	// SchemaDecode is pkg/validate/schema's decoder of embedded CRD schemas into JSONSchemaProps,
	// vs runtime.DefaultUnstructuredConverter.
	SchemaDecode = "schemadecode"
	// ObjectMeta is pkg/validate/schema's check of plain metadata (name, namespace, labels,
	// annotations), vs metavalidation.ValidateObjectMeta.
	ObjectMeta = "objectmeta"
	// CELChecked is pkg/validate/schema's rules of the embedded CRDs checked at build time
	// (celchecked.bin), vs parsing and checking each in its environment on every run.
	CELChecked = "celchecked"
	// AccessLog is dataplane/server's JSON access line, vs slog.JSONHandler.
	AccessLog = "accesslog"
	// Proxy is dataplane/proxy's forwarder, vs httputil.ReverseProxy for every request.
	Proxy = "proxy"
	// MetricsParse is dataplane/pool/metricsparse's line filter and reader (only the picker's
	// families are read, without the exposition parser when they are in the usual shape), vs
	// parsing a scrape whole.
	MetricsParse = "metricsparse"
	// EPPClient is dataplane/epp's hand-rolled HTTP/2 ext_proc client, vs grpc-go's.
	EPPClient = "eppclient"
	// EPPServer is dataplane/epp's HTTP/2 ext_proc server (each message handled on its
	// connection's reader), vs grpc-go's server.
	EPPServer = "eppserver"
	// H1Client is dataplane/h1's HTTP/1.1 client (a round trip on the caller's goroutine) for
	// cleartext upstreams, vs net/http's Transport.
	H1Client = "h1client"
	// H1Server is dataplane/h1server's HTTP/1.1 server loop (each request handled on its
	// connection's goroutine) for cleartext traffic listeners, vs net/http's server.
	H1Server = "h1server"
	// ScrapeBatch is dataplane/pool's scrape rounds on kept connections (every endpoint's
	// metrics request sent, then the replies read on one goroutine), vs a goroutine per
	// endpoint through the pool's HTTP client.
	ScrapeBatch = "scrapebatch"
	// OpenAIStream is dataplane/llm/openai's scan of a relayed stream chunk for the keys that
	// need decoding (usage, finish_reason, error), vs decoding every chunk with encoding/json.
	OpenAIStream = "openaistream"
)

// Names lists every fast path.
var Names = []string{YAML, CEL, CELAdaptor, JSONValue, JSONReport, Anthropic, Gemini, SchemaDecode, ObjectMeta, CELChecked,
	AccessLog, Proxy, MetricsParse, EPPClient, EPPServer, H1Client, H1Server, ScrapeBatch, OpenAIStream}

var off = parse(os.Getenv(Env))

// Enabled reports whether the named fast path is on. Packages read it once, into a package-level
// variable, so a process runs one path from start to end.
func Enabled(name string) bool { return !off[name] }

// parse returns the set of fast paths v turns off.
func parse(v string) map[string]bool {
	off := map[string]bool{}
	switch v = strings.TrimSpace(v); strings.ToLower(v) {
	case "", "0", "false":
		return off
	case "1", "true", "all":
		return all()
	}
	for name := range strings.SplitSeq(v, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if !slices.Contains(Names, name) {
			return all()
		}
		off[name] = true
	}
	return off
}

func all() map[string]bool {
	off := map[string]bool{}
	for _, n := range Names {
		off[n] = true
	}
	return off
}
