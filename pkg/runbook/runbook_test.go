package runbook_test

import (
	"context"
	"github.com/infergw/gwctl/internal/testenv"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/runbook"
)

func renderBundled(t *testing.T, enable []string) []*manifest.Object {
	t.Helper()
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Platform(context.Background(), cat, platform.Options{Enable: enable, Set: []string{"secretStore.name=secret-store"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := render.Stream(out.Objects)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Parse("render.yaml", b, manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got)
}

func TestFallbackGolden(t *testing.T) {
	for name, tc := range map[string]struct {
		enable []string
		opts   runbook.Options
	}{
		"fallback-all.md":  {[]string{"fallback", "egress", "mcp"}, runbook.Options{}},
		"fallback-only.md": {[]string{"fallback"}, runbook.Options{KubeContext: "prod", ProviderKeyEnv: "ANTHROPIC_API_KEY"}},
	} {
		t.Run(name, func(t *testing.T) {
			md, err := runbook.Fallback(renderBundled(t, tc.enable), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, []byte(md))
		})
	}
}

// The runbook follows the render: a route added or removed changes the steps.
func TestFallbackFollowsRender(t *testing.T) {
	without, err := runbook.Fallback(renderBundled(t, []string{"fallback"}), runbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	with, err := runbook.Fallback(renderBundled(t, []string{"fallback", "egress"}), runbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(without, "egress-anthropic") || !strings.Contains(with, "egress-anthropic-standby") {
		t.Fatal("egress route does not follow the render")
	}
	// The standby's forwarder adds the provider key, so neither the probe nor LiteLLM sends one.
	if strings.Contains(with, "Authorization: Bearer") || strings.Contains(with, "os.environ/") {
		t.Fatal("the standby adds the provider key: clients must not need it")
	}
	if !strings.Contains(with, "kubectl -n agentgateway-system rollout status deployment/anthropic-standby") {
		t.Fatal("no readiness check for the egress forwarder")
	}
	if !strings.Contains(with, "kubectl -n argocd patch application group-gateway") {
		t.Fatal("no Argo CD pause step for the LiteLLM config's group")
	}
}

func TestFallbackNeedsStandby(t *testing.T) {
	_, err := runbook.Fallback(renderBundled(t, []string{"egress"}), runbook.Options{})
	if err == nil || !strings.Contains(err.Error(), "features.fallback") {
		t.Fatalf("err %v", err)
	}
	if _, err := runbook.Fallback(nil, runbook.Options{}); err == nil {
		t.Fatal("empty render accepted")
	}
}

// Where the standby adds no provider key, the runbook's probes send the client's own.
func TestFallbackClientCredentials(t *testing.T) {
	objs, err := manifest.ReadFile("testdata/no-forwarder.yaml", nil, manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	md, err := runbook.Fallback(objs, runbook.Options{ProviderKeyEnv: "OPENAI_API_KEY"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Fallback runbook: edge/gw to edge/gw-standby",
		`"http://$STANDBY:8080/v1/chat/completions" -H 'Content-Type: application/json' -H 'X-Gateway-Base-Model-Name: gpt-4.1-mini' -H "Authorization: Bearer $OPENAI_API_KEY"`,
		"On `edge/chat` clients send their own provider key",
		"provider key injected from Secret edge/openai-key",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("runbook lacks %q:\n%s", want, md)
		}
	}
}
