package anthropic

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
	"github.com/infergw/gwctl/internal/testenv"
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
	if !bytes.Equal(want, got) && (fastJSON || !sameJSONLines(want, got)) {
		t.Errorf("golden %s mismatch (run with -update to accept)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// sameJSONLines reports whether want and got differ only in how their JSON values are written,
// line by line (a "data: " line of a stream holds one). The goldens hold what the fast path
// writes: it copies string literals as the upstream escaped them, encoding/json (under
// GWCTL_NOFAST) escapes them its own way.
func sameJSONLines(want, got []byte) bool {
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	if len(wl) != len(gl) {
		return false
	}
	for i := range wl {
		w, _ := bytes.CutPrefix(wl[i], []byte("data: "))
		g, _ := bytes.CutPrefix(gl[i], []byte("data: "))
		var wv, gv any
		if !bytes.Equal(wl[i], gl[i]) && (json.Unmarshal(w, &wv) != nil || json.Unmarshal(g, &gv) != nil || !reflect.DeepEqual(wv, gv)) {
			return false
		}
	}
	return true
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
