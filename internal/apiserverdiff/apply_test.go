package apiserverdiff

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/infergw/gwctl/internal/kubeapi"
	"github.com/infergw/gwctl/pkg/testenv/bundled"
)

// TestRenderAppliesServerSide proves `gwctl render | kubectl apply --server-side`: with the
// derived CRDs installed and the render's Namespaces created for real, every bundled feature
// combination is accepted whole by `kubectl apply --server-side --dry-run=server`.
func TestRenderAppliesServerSide(t *testing.T) {
	s := kubeapi.Start(t)
	installCRDs(t.Context(), t, s, loadCRDs(t))
	for _, on := range combinations(t) {
		t.Run(comboName(on), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			stream, _ := bundled.Render(t, on, renderSet)
			objs := parseDocs(t, "render", stream)
			var namespaces bytes.Buffer
			for _, o := range objs {
				if o.Kind == "Namespace" {
					data, err := yaml.Marshal(o.Content)
					if err != nil {
						t.Fatal(err)
					}
					namespaces.WriteString("---\n")
					namespaces.Write(data)
				}
			}
			if namespaces.Len() > 0 {
				kubectl(ctx, t, s, namespaces.Bytes(), "apply", "--server-side", "-f", "-")
			}
			out := kubectl(ctx, t, s, stream, "apply", "--server-side", "--dry-run=server", "-f", "-")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != len(objs) {
				t.Fatalf("%d objects rendered, kubectl reports %d:\n%s", len(objs), len(lines), out)
			}
			for _, l := range lines {
				if !strings.HasSuffix(l, "serverside-applied (server dry run)") {
					t.Errorf("kubectl: %s", l)
				}
			}
		})
	}
}

// kubectl runs kubectl against s with stdin and returns its output, failing t on an error.
func kubectl(ctx context.Context, t *testing.T, s *kubeapi.Server, stdin []byte, args ...string) string {
	t.Helper()
	cmd := s.Kubectl(ctx, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
