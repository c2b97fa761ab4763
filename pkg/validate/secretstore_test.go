package validate

import (
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

// TestSecretStores: SecretStore and ClusterSecretStore are checked against External Secrets
// Operator v2.9.0's CRDs (embedded): a real store passes, and a misspelt field, a wrong enum
// value and a missing required field are errors naming the field.
func TestSecretStores(t *testing.T) {
	const store = `apiVersion: external-secrets.io/v1
kind: %KIND%
metadata: {name: vault%NS%}
spec:
  provider:
    vault:
      server: https://vault.example.com
      path: platform
      version: %VERSION%
      auth:
        kubernetes: {mountPath: kubernetes, role: external-secrets%EXTRA%}
`
	for _, kind := range []string{"SecretStore", "ClusterSecretStore"} {
		ns := ""
		if kind == "SecretStore" {
			ns = ", namespace: apps"
		}
		doc := func(version, extra string) string {
			return strings.NewReplacer("%KIND%", kind, "%NS%", ns, "%VERSION%", version, "%EXTRA%", extra).Replace(store)
		}
		for _, tc := range []struct {
			name, doc, want string
		}{
			{"valid", doc("v2", ""), ""},
			{"unknown field", doc("v2", ", rol: x"), `spec.provider.vault.auth.kubernetes.rol: unknown field "spec.provider.vault.auth.kubernetes.rol"`},
			{"enum", doc("v3", ""), `spec.provider.vault.version: Unsupported value: "v3"`},
		} {
			fs := validateWith(t, Options{}, parse(t, tc.doc))
			var errs []string
			for _, f := range fs {
				if f.Severity == finding.Error || strings.HasPrefix(f.Rule, "schema/missing") {
					errs = append(errs, f.String())
				}
			}
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("%s %s: %v", kind, tc.name, errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.want)):
				t.Errorf("%s %s: got %v, want one error containing %q", kind, tc.name, errs, tc.want)
			}
		}
	}
}
