package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// repoTree writes files under a temporary directory and returns it.
func repoTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		writeFile(t, dir, name, body)
	}
	return dir
}

// validateIn runs gwctl validate in dir (paths relative to it) and returns the run with dir
// stripped from its output. It runs 20 times and fails unless every run prints the same.
func validateIn(t *testing.T, dir, stdin string, args ...string) run {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	defer t.Chdir(wd)
	first := gwctl(t, stdin, append([]string{"validate"}, args...)...)
	for i := 1; i < 20; i++ {
		if r := gwctl(t, stdin, append([]string{"validate"}, args...)...); r != first {
			t.Fatalf("run %d differs:\n%+v\nfirst:\n%+v", i, r, first)
		}
	}
	return first
}

func expect(t *testing.T, r run, code int, out, errOut string) {
	t.Helper()
	if r.code != code || r.out != out || r.err != errOut {
		t.Errorf("got exit %d\n--- stdout\n%s--- stderr\n%s\nwant exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.out, r.err, code, out, errOut)
	}
}

const service = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {ports: [{port: 80}]}\n"

// TestValidateSkipsValuesAndKustomize: a manifest directory with Helm values, a chart and
// Kustomize files validates its resources and says what it skipped, instead of stopping at
// the first file without apiVersion.
func TestValidateSkipsValuesAndKustomize(t *testing.T) {
	dir := repoTree(t, map[string]string{
		"apps/values.yaml":         "replicaCount: 2\nimage: {repository: nginx}\n",
		"apps/kustomization.yaml":  "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [svc.yaml]\n",
		"apps/svc.yaml":            service,
		"charts/web/Chart.yaml":    "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/a.y": "{{ .Values.x }}",
	})
	r := validateIn(t, dir, "", ".")
	expect(t, r, 0, `apps/kustomization.yaml
           info    Kustomize file, not a resource: skipped (`+"`gwctl validate -k DIR`"+` checks what it builds) [input/kustomization]
apps/values.yaml
           info    no document has apiVersion or kind (Helm values or another tool's configuration): not a manifest, skipped [input/not-a-manifest]
charts/web/Chart.yaml
           info    Helm chart: its templates are manifests only once rendered, so its directory is skipped (validate `+"`helm template`"+` output through stdin) [input/helm-chart]

1 resource in 1 file: 0 errors, 0 warnings, 3 info — passed
`, "")
}

// TestValidateEmptyInputFails: no resources is an input error (exit 2), so a failed render piped
// into validate fails the pipeline even without pipefail; --allow-empty accepts it.
func TestValidateEmptyInputFails(t *testing.T) {
	dir := repoTree(t, map[string]string{
		"empty.yaml":       "",
		"only/values.yaml": "a: 1\n",
		"none/README.md":   "# nothing\n",
	})
	const summary = "0 resources in 0 files: 0 errors, 0 warnings, 0 info — passed\n"
	expect(t, validateIn(t, dir, "", "-"), 2, summary, "gwctl: no resources found in stdin; --allow-empty accepts an empty input\n")
	expect(t, validateIn(t, dir, "", "empty.yaml"), 2, summary, "gwctl: no resources found in empty.yaml; --allow-empty accepts an empty input\n")
	expect(t, validateIn(t, dir, "", "none"), 2, summary, "gwctl: no resources found in none; --allow-empty accepts an empty input\n")
	expect(t, validateIn(t, dir, "", "only"), 2, `only/values.yaml
           info    no document has apiVersion or kind (Helm values or another tool's configuration): not a manifest, skipped [input/not-a-manifest]

0 resources in 0 files: 0 errors, 0 warnings, 1 info — passed
`, "gwctl: no resources found in only (1 file skipped: see the info findings); --allow-empty accepts an empty input\n")
	expect(t, validateIn(t, dir, "", "-", "--allow-empty"), 0, summary, "")

	// A render that fails prints nothing on stdout: what validate - reads from the pipe.
	failed := gwctl(t, "", "render", "--enable", "egress")
	if failed.code != 2 || failed.out != "" {
		t.Fatalf("render without secretStore.name: %+v", failed)
	}
	expect(t, validateIn(t, dir, failed.out, "-"), 2, summary, "gwctl: no resources found in stdin; --allow-empty accepts an empty input\n")
}

// TestValidateOneBadFileIsOneFinding: a file with a duplicate key or a YAML syntax error is one
// error finding at its line and column (not yaml.v3's line 1), and the other files are checked.
func TestValidateOneBadFileIsOneFinding(t *testing.T) {
	dir := repoTree(t, map[string]string{
		"m/a-dup.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n",
		"m/b-syntax.yaml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  a: b\n  c: d\n  e: f\n  g: h\n  i: j\n  k: l\n m: n\n",
		"m/c-good.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good, namespace: default}\ndata: {a: b}\n",
	})
	expect(t, validateIn(t, dir, "", "m"), 1, `m/a-dup.yaml
  5:3      error   duplicate key "name" [input/parse]
m/b-syntax.yaml
  13:2     error   YAML syntax: did not find expected key [input/parse]

1 resource in 1 file: 2 errors, 0 warnings, 0 info — failed
`, "")
	// The same in JSON, with the position as fields.
	r := validateIn(t, dir, "", "m/b-syntax.yaml", "-o", "json")
	if r.code != 1 || !strings.Contains(r.out, `"file": "m/b-syntax.yaml",
      "line": 13,
      "column": 2,`) {
		t.Fatalf("json: %+v", r)
	}
}

// TestValidateGenerateName: Jobs and ConfigMaps named by metadata.generateName are valid.
func TestValidateGenerateName(t *testing.T) {
	dir := repoTree(t, map[string]string{"jobs.yaml": `apiVersion: batch/v1
kind: Job
metadata: {generateName: migrate-, namespace: default}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata: {generateName: cfg-, namespace: default}
data: {a: b}
`})
	expect(t, validateIn(t, dir, "", "jobs.yaml"), 0, "2 resources in 1 file: 0 errors, 0 warnings, 0 info — passed\n", "")
}

// TestValidateDuplicatesPerInput: the same object in two paths given is not a duplicate (two
// example folders); within one directory tree it is; --closed judges everything together.
func TestValidateDuplicatesPerInput(t *testing.T) {
	dir := repoTree(t, map[string]string{"examples/a/svc.yaml": service, "examples/b/svc.yaml": service})
	expect(t, validateIn(t, dir, "", "examples/a", "examples/b"), 0, "2 resources in 2 files: 0 errors, 0 warnings, 0 info — passed\n", "")
	dup := `examples/b/svc.yaml
  3:18     error   Service/default/web metadata.name: duplicate Service default/web: also defined at examples/a/svc.yaml:1 [set/duplicate-object]

2 resources in 2 files: 1 error, 0 warnings, 0 info — failed
`
	expect(t, validateIn(t, dir, "", "examples"), 1, dup, "")
	expect(t, validateIn(t, dir, "", "--closed", "examples/a", "examples/b"), 1, dup, "")
}

const routeAndPolicy = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
  - backendRefs: [{name: svc, port: 80}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: authn, namespace: apps}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]
  traffic:
    jwtAuthentication:
      providers:
      - issuer: https://dex.example.com
        audiences: [gw]
        jwks:
          remote:
            jwksPath: /keys
            backendRef: {name: dex, namespace: dex, port: 5556}
`

// TestValidateOpenWorld: references to objects installed by other charts are warnings for files
// (exit 0), errors with --closed (with the knock-on finding naming its cause), and resolved by
// --known-objects.
func TestValidateOpenWorld(t *testing.T) {
	dir := repoTree(t, map[string]string{
		"route.yaml": routeAndPolicy,
		"known.yaml": "- {kind: Gateway, namespace: infra, name: gw}\n- {kind: Service, namespace: apps, name: svc}\n- {kind: Service, namespace: dex, name: dex}\n",
	})
	const infos = `  21:13    info    AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers[0].jwks.remote: the controller (not the proxy) fetches http://dex.dex.svc.cluster.local:5556/keys over plain HTTP unless a backend TLS policy applies: NetworkPolicies must let agentgateway-system reach it [lint/jwks-reachability]
  22:25    info    AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers[0].jwks.remote.backendRef: remote JWKS in namespace dex: v1.2.1 needs no ReferenceGrant, but from v1.3 (AGW_BACKEND_REF_GRANT_MODE=route-and-policy) one in dex from AgentgatewayPolicy in apps is required [refs/reference-grant]
`
	expect(t, validateIn(t, dir, "", "route.yaml"), 0, `route.yaml
  5:16     warning HTTPRoute/apps/r spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]
  7:19     warning HTTPRoute/apps/r spec.rules[0].backendRefs[0]: Service apps/svc not found in the input [refs/unresolved]
`+infos+`  22:25    warning AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers[0].jwks.remote.backendRef: remote JWKS: Service dex/dex not found in the input [refs/unresolved]

2 resources in 1 file: 0 errors, 3 warnings, 2 info — passed
`, "")
	expect(t, validateIn(t, dir, "", "--closed", "route.yaml"), 1, `route.yaml
  5:16     error   HTTPRoute/apps/r spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]
  7:19     error   HTTPRoute/apps/r spec.rules[0].backendRefs[0]: Service apps/svc not found in the input [refs/unresolved]
  17:7     error   AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers: jwtAuthentication has no usable provider: providers[0].jwks.remote.backendRef: remote JWKS: Service dex/dex not found in the input (see refs/unresolved) [gateway.policy]
`+infos+`  22:25    error   AgentgatewayPolicy/apps/authn spec.traffic.jwtAuthentication.providers[0].jwks.remote.backendRef: remote JWKS: Service dex/dex not found in the input [refs/unresolved]

2 resources in 1 file: 4 errors, 0 warnings, 2 info — failed
`, "")
	// Stdin is files too unless --closed says the stream is everything.
	expect(t, validateIn(t, dir, routeAndPolicy, "-", "--closed", "--known-objects", "known.yaml"), 0, `-
`+infos+`
2 resources in 1 file: 0 errors, 0 warnings, 2 info — passed
`, "")
	writeFile(t, dir, "bad-known.yaml", "- {kind: Service, namespace: dex, name: dex}\n- {namespace: apps, name: svc}\n")
	r := validateIn(t, dir, "", "--known-objects", "bad-known.yaml", "route.yaml")
	if r.code != 2 || r.out != "" || r.err != "gwctl: --known-objects: bad-known.yaml:2:3: a known object needs kind and name (and namespace, unless cluster-scoped)\n" {
		t.Fatalf("bad known-objects file: %+v", r)
	}
}

// TestRenderGroupIgnoresOtherGroups: render --group renders the asked group even when another
// enabled group cannot (an unmet condition), warning about it; the asked group's own
// dependencies, and the group holding the dataplane ConfigMap (which carries every group's
// gateway resources), still fail.
func TestRenderGroupIgnoresOtherGroups(t *testing.T) {
	r := gwctl(t, "", "render", "--enable", "egress,observability", "--group", "observability")
	want := gwctl(t, "", "render", "--enable", "egress,observability", "--set", "secretStore.name=s", "--group", "observability")
	if r.code != 0 || r.out != want.out || r.out == "" {
		t.Fatalf("--group observability with egress unrenderable: code %d, %d bytes (want %d)\n%s", r.code, len(r.out), len(want.out), r.err)
	}
	if r.err != `warning: left out (--group observability does not need it): group "egress" (feature flag): needs a secret store for the provider key: set secretStore.name (the External Secrets store holding anthropic-api-key)`+"\n" {
		t.Fatalf("stderr %q", r.err)
	}
	r = gwctl(t, "", "render", "--enable", "egress,observability", "--group", "egress")
	if r.code != 2 || !strings.Contains(r.err, `group "egress" (feature flag): needs a secret store`) {
		t.Fatalf("--group egress: %+v", r)
	}
	r = gwctl(t, "", "render", "--enable", "egress,observability", "--group", "gateway")
	if r.code != 2 || r.err != `gwctl: group "gateway": its ConfigMap agentgateway-system/dataplane-resources carries the gateway resources of every enabled group, and not all can render: group "egress" (feature flag): needs a secret store for the provider key: set secretStore.name (the External Secrets store holding anthropic-api-key)`+"\n" {
		t.Fatalf("--group gateway: %+v", r)
	}
}

// TestRenderGroupIgnoresRenderErrors: a group that fails to render (Kustomize error) does not
// block --group on another one.
func TestRenderGroupIgnoresRenderErrors(t *testing.T) {
	dir := t.TempDir()
	group := func(name string) {
		writeFile(t, dir, "catalog/"+name+"/group.yaml", "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: "+name+"}\nspec:\n  layer: apps\n  core: true\n  namespace: "+name+"\n  content: {kustomize: true}\n")
	}
	group("web")
	writeFile(t, dir, "catalog/web/kustomization.yaml", "resources: [cm.yaml]\n")
	writeFile(t, dir, "catalog/web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: site}\ndata: {a: b}\n")
	group("broken")
	writeFile(t, dir, "catalog/broken/kustomization.yaml", "resources: [missing.yaml]\n")
	cat := filepath.Join(dir, "catalog")
	if r := gwctl(t, "", "render", "--catalog", cat); r.code != 2 || !strings.Contains(r.err, `group "broken"`) {
		t.Fatalf("whole render: %+v", r)
	}
	r := gwctl(t, "", "render", "--catalog", cat, "--group", "web")
	if r.code != 0 || !strings.Contains(r.out, "name: site") || !strings.HasPrefix(r.err, `warning: left out (--group web does not need it): group "broken": `) {
		t.Fatalf("--group web: %+v", r)
	}
	if r := gwctl(t, "", "render", "--catalog", cat, "--group", "broken"); r.code != 2 || !strings.HasPrefix(r.err, `gwctl: group "broken": `) {
		t.Fatalf("--group broken: %+v", r)
	}
}

// flagRef is a --flag named in a string literal: in an error, help text or example.
var flagRef = regexp.MustCompile(`(?:^|[^-\w])--([a-z][a-z0-9-]*)`)

// otherTools are programs whose flags gwctl's messages may name (in commands they suggest).
var otherTools = regexp.MustCompile(`\b(kubectl|helm|kustomize|redis-server|npm)\b`)

// TestMessagesNameRealFlags: every --flag named in a string of pkg/ is a flag of gwctl (or of the
// dataplane, for pkg/gateway, which both run), unless the string is a command of another tool.
func TestMessagesNameRealFlags(t *testing.T) {
	gwctlFlags := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { gwctlFlags[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := NewRoot(Streams{}, nil)
	(&profiler{}).addFlags(root)
	walk(root)
	gwctlFlags["help"] = true

	main, err := os.ReadFile(filepath.Join("..", "..", "cmd", "dataplane", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	dataplaneFlags := map[string]bool{}
	for _, m := range regexp.MustCompile(`fs\.\w+\([^,]+, "([a-z0-9-]+)"`).FindAllSubmatch(main, -1) {
		dataplaneFlags[string(m[1])] = true
	}
	if !dataplaneFlags["resolve"] {
		t.Fatal("found no dataplane flags in cmd/dataplane/main.go")
	}

	var bad []string
	fset := token.NewFileSet()
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && runsOtherTool(call) {
				return false
			}
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || otherTools.MatchString(s) {
				return true
			}
			for _, m := range flagRef.FindAllStringSubmatch(s, -1) {
				name := m[1]
				if gwctlFlags[name] || (strings.Contains(filepath.ToSlash(path), "/gateway/") && dataplaneFlags[name]) {
					continue
				}
				bad = append(bad, fset.Position(lit.Pos()).String()+": --"+name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("messages name flags that do not exist:\n%s", strings.Join(bad, "\n"))
	}
}

// runsOtherTool reports whether a call builds another program's command line (a runbook's
// kubectl step, exec.Command): its flags are that program's.
func runsOtherTool(call *ast.CallExpr) bool {
	var name string
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		name = fn.Name
	case *ast.SelectorExpr:
		name = fn.Sel.Name
	}
	return name == "kubectl" || name == "Command" || name == "CommandContext"
}

// TestValidateControllerName: the dataplane's own checks judge only Gateways it serves (classes
// naming --controller-name, default the dataplane's), as the dataplane itself does; another
// implementation's Gateway gets the class warning only. The render's class is the platform
// config's dataplane.controllerName, so validating the render follows it.
func TestValidateControllerName(t *testing.T) {
	const gw = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: other}
spec: {controllerName: example.com/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: other
  listeners:
  - {name: tcp, port: 9000, protocol: TCP}
`
	dir := repoTree(t, map[string]string{"gw.yaml": gw})
	expect(t, validateIn(t, dir, "", "gw.yaml"), 0, `gw.yaml
  4:24     warning GatewayClass/other spec.controllerName: controllerName "example.com/other" is neither the dataplane's (gwctl.infergw.dev/dataplane) nor agentgateway's (agentgateway.dev/agentgateway): Gateway default/gw will not be served by either [refs/gateway-class]

2 resources in 1 file: 0 errors, 1 warning, 0 info — passed
`, "")
	expect(t, validateIn(t, dir, "", "--controller-name", "example.com/other", "gw.yaml"), 0, `gw.yaml
  12:39    warning Gateway/default/gw spec.listeners[0].protocol: protocol "TCP" is not served by the dataplane (HTTP and HTTPS only): listener "tcp" is ignored [gateway.unsupported]

2 resources in 1 file: 0 errors, 1 warning, 0 info — passed
`, "")
	// The render under another controllerName: its Gateways are still judged (they are ours).
	def := gwctl(t, "", "validate", "-o", "json")
	other := gwctl(t, "", "validate", "-o", "json", "--set", "dataplane.controllerName=example.com/gw")
	if def.code != 0 || other.code != 0 || def.out != other.out || !strings.Contains(def.out, "gateway.endpoint-picker") {
		t.Fatalf("render validated under its own controllerName differs: %d %d\n%s\n---\n%s", def.code, other.code, def.out, other.out)
	}
	wrong := gwctl(t, "", "validate", "-o", "json", "--set", "dataplane.controllerName=example.com/gw", "--controller-name", "gwctl.infergw.dev/dataplane")
	if !strings.Contains(wrong.out, "refs/gateway-class") || strings.Contains(wrong.out, "gateway.endpoint-picker") {
		t.Fatalf("--controller-name given: the render's class should be another implementation's:\n%s", wrong.out)
	}
}
