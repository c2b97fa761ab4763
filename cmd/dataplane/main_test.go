package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestInvalidConfigExits1WithFindings(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--config", "testdata/invalid.yaml", "--listen", "127.0.0.1:0", "--admin", ""}, nil, &out, &errb, func(string) string { return "" })
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errb.String())
	}
	want := "testdata/invalid.yaml:5:23: error HTTPRoute/default/r spec.parentRefs[0].name: parentRef to Gateway default/missing-gateway, which is not in the input [gateway.parent-ref]"
	if !strings.Contains(errb.String(), want) {
		t.Fatalf("stderr lacks the finding line %q:\n%s", want, errb.String())
	}
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{},                                     // no --config
		{"--config", "x", "--resolve", "nope"}, // bad --resolve
		{"--config", "x", "--log-format", "xml"},
		{"--config", "x", "--listen", "http=:80"},
		{"--bogus"},
		{"--config", "x", "--anthropic-server-tools", "web_search_20250305,function"},
		{"--config", "x", "--max-header-bytes", "1024"},
		{"--config", "x", "--public-origin", "https://gw.example.com/mcp"},
		{"--config", "x", "--public-origin", "gw.example.com"},
	}
	for _, args := range cases {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, nil, &out, &errb, func(string) string { return "" }); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}

func TestEnvironment(t *testing.T) {
	var o options
	fs := newFlags(&o, &bytes.Buffer{})
	if err := fs.Parse([]string{"--listen", ":1"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"DATAPLANE_LISTEN":                 ":2", // the flag wins
		"DATAPLANE_SECRETS_DIR":            "/secrets",
		"DATAPLANE_RESOLVE":                "a.ns=127.0.0.1:1, b.ns:80=127.0.0.1:2",
		"DATAPLANE_CONFIG":                 "-",
		"DATAPLANE_ANTHROPIC_SERVER_TOOLS": "web_search_20250305,web_fetch_20250910",
		"DATAPLANE_ANTHROPIC_WEB_SEARCH":   "true",
	}
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if len(o.listen) != 1 || o.listen[0] != ":1" || o.secrets != "/secrets" || len(o.resolve) != 2 || o.config[0] != "-" ||
		!o.webSearch || o.serverTools != "web_search_20250305,web_fetch_20250910" {
		t.Fatalf("options = %+v", o)
	}
	m, err := parseResolve(o.resolve)
	if err != nil || m["b.ns:80"] != "127.0.0.1:2" {
		t.Fatalf("resolve = %v %v", m, err)
	}
	if err := applyEnv(fs, func(k string) string {
		if k == "DATAPLANE_MAX_REQUEST_BODY" {
			return "lots"
		}
		return ""
	}); err == nil {
		t.Fatal("bad env value accepted")
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, &bytes.Buffer{}, &errb, func(string) string { return "" }); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"-config", "-listen", "-admin", "-debug-addr", "-secrets-dir", "-resolve", "-otlp-endpoint", "-redis-addr", "-max-request-body", "-max-header-bytes", "-anthropic-web-search", "-anthropic-server-tools", "-public-origin", "DATAPLANE_",
		"/healthz", "/readyz", "/metrics", "/configz"} {
		if !strings.Contains(errb.String(), f) {
			t.Errorf("help lacks %s", f)
		}
	}
}
