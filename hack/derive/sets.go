package main

// A set is one upstream's reference data: the folder it sits in (under the reference folder and
// under testdata/ alike), who published it at which version, and the files tests read from it.
type set struct {
	Dir      string
	Upstream string
	// Version is how the folder's SOURCE.txt (Source, relative to the reference folder) names
	// the release or commit; derive refuses a SOURCE.txt that does not mention it.
	Version string
	Source  string
	License string
	Rules   []rule
}

// A rule derives the files matching Glob (relative to the set's folder) by Kind. For kind
// streams, all matches go into the one container file Into.
type rule struct {
	Glob string
	Kind string
	Into string
}

// kinds says, for SOURCE.yaml, what each kind of derivation keeps and drops.
var kinds = map[string]string{
	"crd":       "CustomResourceDefinition: comments and every schema description dropped; types, enums, bounds, patterns, formats, defaults, required lists, list/map types and CEL rules with their messages kept; keys sorted",
	"documents": "test documents: comments and empty documents dropped; every field kept, including _err (the expected error); keys sorted",
	"openapi":   "OpenAPI document: only the component schemas the tests compile (and those they reference); description, title, summary, example(s), $comment, externalDocs and x-* extensions dropped; keys sorted",
	"cassette":  "go-vcr cassette: per interaction only request.body, response.code, response Content-Type and response.body, bodies byte for byte (the recorded wire bytes); other headers, URLs and timings dropped; keys sorted",
	"json":      "JSON body: whitespace removed (compact); key order kept, because a request's JSON Schema reaches the translated body in the client's key order and golden tests pin it",
	"streams":   "event streams: one YAML map from the original file name to its body, byte for byte (the recorded wire bytes: comments, pings and odd spacing are what the stream reader is tested on)",
}

// sets lists what tests read; derive writes nothing else.
var sets = []set{
	{
		Dir:      "agentgateway-v1.2.1",
		Upstream: "github.com/agentgateway/agentgateway",
		Version:  "6a2d02dbb35a289738d0fdba88e5a474e432a72a",
		Source:   "agentgateway-v1.2.1/SOURCE.txt",
		License:  "Apache-2.0",
		Rules: []rule{
			{Glob: "agentgateway.dev_*.yaml", Kind: "crd"},
			{Glob: "api-tests-testdata/*.yaml", Kind: "documents"},
		},
	},
	{
		Dir:      "gateway-api",
		Upstream: "sigs.k8s.io/gateway-api",
		Version:  "v1.6.3",
		Source:   "gateway-api/SOURCE.txt",
		License:  "Apache-2.0",
		Rules: []rule{
			{Glob: "crd/standard/*.yaml", Kind: "crd"},
			{Glob: "invalid-examples/standard/*/*.yaml", Kind: "documents"},
		},
	},
	{
		Dir:      "gie",
		Upstream: "github.com/kubernetes-sigs/gateway-api-inference-extension",
		Version:  "992e5c292afb248801ce8d9234eb5b9d28eea231",
		Source:   "gie/SOURCE.txt",
		License:  "Apache-2.0",
		Rules:    []rule{{Glob: "inference.networking.k8s.io_inferencepools.v1.6.0.yaml", Kind: "crd"}},
	},
	{
		Dir:      "llm-apis/anthropic",
		Upstream: "github.com/tryAGI/Anthropic (Anthropic's published OpenAPI spec)",
		Version:  "8b42a21e6aa7fc9b521cc0c1581f586480b5cad3",
		Source:   "llm-apis/SOURCE.txt",
		License:  "MIT",
		Rules:    []rule{{Glob: "openapi.json", Kind: "openapi"}},
	},
	{
		Dir:      "llm-apis/fixtures/anthropic-sdk-go",
		Upstream: "github.com/anthropics/anthropic-sdk-go",
		Version:  "b43f0d7a327fe3e30c302d773162669ab3bb4d26",
		Source:   "llm-apis/SOURCE.txt",
		License:  "MIT",
		Rules: []rule{
			{Glob: "cassettes/*.yaml", Kind: "cassette"},
			{Glob: "sse/*.sse", Kind: "streams", Into: "sse/streams.yaml"},
		},
	},
	{
		Dir:      "llm-apis/fixtures/agentgateway",
		Upstream: "github.com/agentgateway/agentgateway",
		Version:  "75b4e6ce6e0e1ac7959d5548ebe8dbeaede4f180",
		Source:   "llm-apis/SOURCE.txt",
		License:  "Apache-2.0",
		Rules: []rule{
			{Glob: "anthropic-response/basic.json", Kind: "json"},
			{Glob: "anthropic-response/multiple_text_blocks.json", Kind: "json"},
			{Glob: "anthropic-response/thinking.json", Kind: "json"},
			{Glob: "anthropic-response/tool.json", Kind: "json"},
			{Glob: "anthropic-response/stream_*.json", Kind: "streams", Into: "anthropic-response/streams.yaml"},
			{Glob: "completions-request/*.json", Kind: "json"},
		},
	},
}

// openapiRoots are the component schemas tests compile from an OpenAPI document
// (anthropictest.CompileSchema).
var openapiRoots = []string{"CreateMessageParams"}
