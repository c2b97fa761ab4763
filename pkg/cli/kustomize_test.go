package cli

import "testing"

// kustomizeTree is an app base and an overlay that moves it to another namespace, patches its
// Service and generates a ConfigMap; the route's backend does not exist.
var kustomizeTree = map[string]string{
	".git/HEAD":                        "ref: refs/heads/main\n", // the platform repo's root: bases may be anywhere in it
	"apps/web/base/kustomization.yaml": "resources:\n- route.yaml\n- svc.yaml\n",
	"apps/web/base/route.yaml": `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
  - backendRefs: [{name: web-api, port: 80}]
`,
	"apps/web/base/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n",
	"clusters/prod/web/kustomization.yaml": `namespace: web-prod
resources:
- ../../../apps/web/base
patches:
- target: {kind: Service}
  patch: |
    - {op: replace, path: /spec/ports/0/port, value: 70000}
configMapGenerator:
- name: web-settings
  literals: [mode=prod]
`,
	"clusters/dev/web/kustomization.yaml": "resources:\n- ../../../apps/web/base\n",
	"clusters/remote/kustomization.yaml":  "resources:\n- ../dev/web\n- https://github.com/org/repo/raw/main/app.yaml\n",
	"clusters/twice/kustomization.yaml":   "resources:\n- ../../apps/web/base\n- ../../apps/web/base/svc.yaml\n",
}

// TestValidateKustomize: -k builds a kustomization in-process; a finding on an object the
// build left as written has its file:line:column, one on a field a transformer changed names
// the kustomization and the resource, and one on a field the build kept points into the base.
func TestValidateKustomize(t *testing.T) {
	dir := repoTree(t, kustomizeTree)
	// The base as is: unchanged objects keep their files and lines.
	expect(t, validateIn(t, dir, "", "-k", "clusters/dev/web"), 0, `apps/web/base/route.yaml
  6:16     warning HTTPRoute/web spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]
  8:19     warning HTTPRoute/web spec.rules[0].backendRefs[0]: Service default/web-api not found in the input [refs/unresolved]

2 resources in 2 files: 0 errors, 2 warnings, 0 info — passed
`, "")
	// The overlay: the namespace transformer changed every object, so each is the
	// kustomization's; fields it kept point into the base; the patched port stays on the
	// kustomization.
	expect(t, validateIn(t, dir, "", "-k", "clusters/prod/web"), 1, `apps/web/base/route.yaml
  6:16     warning HTTPRoute/web-prod/web spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]
  8:19     warning HTTPRoute/web-prod/web spec.rules[0].backendRefs[0]: Service web-prod/web-api not found in the input [refs/unresolved]
clusters/prod/web/kustomization.yaml
           error   Service/web-prod/web spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive [builtin/invalid]

3 resources in 1 file: 1 error, 2 warnings, 0 info — failed
`, "")
	// A remote resource is one finding at its entry; the rest of the run goes on.
	expect(t, validateIn(t, dir, "", "-k", "clusters/remote", "-k", "clusters/dev/web"), 1, `apps/web/base/route.yaml
  6:16     warning HTTPRoute/web spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]
  8:19     warning HTTPRoute/web spec.rules[0].backendRefs[0]: Service default/web-api not found in the input [refs/unresolved]
clusters/remote/kustomization.yaml
  3:3      error   resources[1]: remote resource "https://github.com/org/repo/raw/main/app.yaml": gwctl builds kustomizations offline (no git, no HTTP): copy it into this kustomization's folder and list the copy [input/kustomize-build]

2 resources in 2 files: 1 error, 2 warnings, 0 info — failed
`, "")
	// A kustomization is a closed unit for duplicates: the same base built twice is not a
	// duplicate, as two renders are not; the routes' overlap on one Gateway is still seen.
	expect(t, validateIn(t, dir, "", "-k", "clusters/dev/web", "-k", "clusters/dev/web/../web", "--rule", "refs/unresolved=off"), 0, `apps/web/base/route.yaml
  8:5      warning HTTPRoute/web spec.rules[0].matches[0]: HTTPRoute default/web spec.rules[0].matches[0] already matches the same requests (host *) on Gateway infra/gw: only one route gets them [refs/route-conflict]

4 resources in 2 files: 0 errors, 1 warning, 0 info — passed
`, "")
	// Kustomize's own refusal is one finding at the kustomization, paths as the user wrote them.
	expect(t, validateIn(t, dir, "", "-k", "clusters/twice"), 1, `clusters/twice/kustomization.yaml
           error   kustomize: accumulating resources: accumulation err='accumulating resources from '../../apps/web/base/svc.yaml': security; file 'apps/web/base/svc.yaml' is not in or below 'clusters/twice'': must build at directory: 'apps/web/base/svc.yaml': file is not directory [input/kustomize-build]

0 resources in 0 files: 1 error, 0 warnings, 0 info — failed
`, "")
	expect(t, validateIn(t, dir, "", "-k", "apps"), 2, "",
		"gwctl: -k apps: no kustomization.yaml, kustomization.yml or Kustomization in the directory\n")
	expect(t, validateIn(t, dir, "", "--rendered", "-k", "apps"), 2, "",
		"gwctl: --rendered validates the render: give no paths or -k with it\n")
}
