package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/cli"
	"github.com/infergw/gwctl/pkg/finding"
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

// Issue #18: gwctl validate passed these and the dataplane refused them at load. Both now refuse
// with the same finding: gwctl validate exits 1 naming the file, line and field, and the
// dataplane exits 1 printing that finding as its reason.
func TestValidateRefusesWhatTheDataplaneRefuses(t *testing.T) {
	cases := []struct {
		file, want string
	}{
		{"testdata/unsupported-expression.yaml", `testdata/unsupported-expression.yaml:32:18: error AgentgatewayPolicy/default/copy-header ` +
			`spec.traffic.transformation.request.set[0].value: header x-copied: expression "request.headers[\"x\"]" is not supported ` +
			`by this dataplane (supported: json(request.body).<field>, string literals) [gateway.expression]`},
		{"testdata/anthropic-without-auth.yaml", `testdata/anthropic-without-auth.yaml:12:3: error AgentgatewayBackend/default/anthropic ` +
			`spec.policies.auth: the anthropic provider needs policies.auth with secretRef or key (or an AgentgatewayPolicy ` +
			`backend.auth targeting this backend) [gateway.backend-auth]`},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cli.Main([]string{"validate", "-o", "json", tc.file}, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, nil)
			if code != 1 {
				t.Fatalf("gwctl validate exit %d, want 1\n%s%s", code, out.String(), errb.String())
			}
			var report struct {
				Findings []struct {
					File         string
					Line, Column int
					Resource     finding.Resource
					Field, Rule  string
					Severity     string
					Message      string
				}
			}
			if err := json.Unmarshal(out.Bytes(), &report); err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, f := range report.Findings {
				sev, err := finding.ParseSeverity(f.Severity)
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, finding.Finding{File: f.File, Line: f.Line, Column: f.Column, Resource: f.Resource,
					Field: f.Field, Rule: f.Rule, Severity: sev, Message: f.Message}.String())
			}
			if len(lines) != 1 || lines[0] != tc.want {
				t.Errorf("gwctl validate findings:\n%s\nwant:\n%s", strings.Join(lines, "\n"), tc.want)
			}

			out.Reset()
			errb.Reset()
			code = run(context.Background(), []string{"--config", tc.file, "--listen", "127.0.0.1:0", "--admin", ""}, nil, &out, &errb, func(string) string { return "" })
			if code != 1 {
				t.Fatalf("dataplane exit %d, want 1; stderr:\n%s", code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.want+"\n") {
				t.Errorf("dataplane stderr lacks the finding %q:\n%s", tc.want, errb.String())
			}
		})
	}
}
