package apiserverdiff

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/infergw/gwctl/internal/kubeapi"
	"github.com/infergw/gwctl/internal/testenv/bundled"
)

// TestRenderAppliesServerSide proves `gwctl render | kubectl apply --server-side`: with the
// derived CRDs installed and the render's Namespaces created for real, every bundled feature
// combination is accepted whole by `kubectl apply --server-side --dry-run=server`.
func TestRenderAppliesServerSide(t *testing.T) {
	s := kubeapi.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	installCRDs(ctx, t, s, loadCRDs(t))

	type render struct {
		name    string
		stream  []byte
		objects int
	}
	var renders []render
	var namespaces bytes.Buffer
	seen := map[string]bool{}
	for _, on := range combinations(t) {
		stream, _ := bundled.Render(t, on, renderSet)
		objs := parseDocs(t, "render", stream)
		renders = append(renders, render{comboName(on), stream, len(objs)})
		for _, o := range objs {
			if o.Kind == "Namespace" && !seen[o.Name] {
				seen[o.Name] = true
				data, err := yaml.Marshal(o.Content)
				if err != nil {
					t.Fatal(err)
				}
				namespaces.WriteString("---\n")
				namespaces.Write(data)
			}
		}
	}
	if namespaces.Len() > 0 {
		if _, err := kubectl(ctx, s, namespaces.Bytes(), "apply", "--server-side", "-f", "-"); err != nil {
			t.Fatal(err)
		}
	}
	// kubectl is a process per render: several at a time, each mostly waiting on the server.
	errs := make([]error, len(renders))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for i := range next {
				errs[i] = applyDryRun(ctx, s, renders[i].stream, renders[i].objects)
			}
		})
	}
	for i := range renders {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", renders[i].name, err)
		}
	}
}

// applyDryRun pipes a render to kubectl apply --server-side --dry-run=server and checks that
// every object is accepted.
func applyDryRun(ctx context.Context, s *kubeapi.Server, stream []byte, objects int) error {
	out, err := kubectl(ctx, s, stream, "apply", "--server-side", "--dry-run=server", "-f", "-")
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != objects {
		return fmt.Errorf("%d objects rendered, kubectl reports %d:\n%s", objects, len(lines), out)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "serverside-applied (server dry run)") {
			return fmt.Errorf("kubectl: %s", l)
		}
	}
	return nil
}

// kubectl runs kubectl against s with stdin and returns its output.
func kubectl(ctx context.Context, s *kubeapi.Server, stdin []byte, args ...string) (string, error) {
	cmd := s.Kubectl(ctx, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("kubectl %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), nil
}
