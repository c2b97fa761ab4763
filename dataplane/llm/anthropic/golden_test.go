package anthropic

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
	"github.com/infergw/gwctl/pkg/testenv"
)

var update = testenv.Update

// golden compares got with testdata/<name>, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update)", path, err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("golden %s mismatch (run with -update to accept)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// indent pretty-prints JSON for readable golden files.
func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// ref is a path under the LLM API reference data in testdata/ (derived by make testdata).
func ref(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), "testdata", "llm-apis", filepath.FromSlash(rel))
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// requestSchema is Anthropic's CreateMessageParams from the reference spec.
func requestSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	path := anthropictest.SchemaPath(t)
	schemaOnce.Do(func() { schema, schemaErr = anthropictest.CompileSchema(path) })
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	return schema
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
