package validate

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/controls"
)

var (
	fuzzOnce sync.Once
	fuzzV    *Validator
	fuzzErr  error
)

// FuzzValidate feeds arbitrary documents through Parse and Validate: whatever the input, the
// validator returns findings and neither panics nor hangs.
func FuzzValidate(f *testing.F) {
	for _, dir := range []string{"testdata/cases", "testdata/platform"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("apiVersion: agentgateway.dev/v1alpha1\nkind: AgentgatewayPolicy\nmetadata: {name: x}\nspec: {traffic: {rateLimit: {local: [{requests: 9223372036854775807, burst: 9223372036854775807, unit: Seconds}]}}}\n"))
	f.Add([]byte("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec: {group: b, names: {kind: A, plural: a}, scope: Namespaced, versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-validations: [{rule: 'self.x', message: m}]}}}]}\n---\napiVersion: b/v1\nkind: A\nmetadata: {name: a}\n"))
	fuzzOnce.Do(func() { fuzzV, fuzzErr = New(Options{}) })
	if fuzzErr != nil {
		f.Fatal(fuzzErr)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := manifest.Parse("fuzz.yaml", data, manifest.Limits{MaxFileBytes: 1 << 20, MaxDepth: 64, MaxNodes: 50000, MaxDocuments: 100})
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		fuzzV.Validate(ctx, objs)
		controls.Compute(objs)
	})
}
