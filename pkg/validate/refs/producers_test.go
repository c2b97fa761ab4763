package refs

import (
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// Secrets that cert-manager or Sealed Secrets create in the cluster are produced, like an
// ExternalSecret's: a reference to them is not unresolved.
func TestSecretProducers(t *testing.T) {
	gateway := func(annotations string) string {
		return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: inference` + annotations + `}
spec:
  gatewayClassName: agentgateway
  listeners:
  - name: https
    protocol: HTTPS
    port: 443
    hostname: api.example.com
    tls: {certificateRefs: [{name: api-tls}]}
---
`
	}
	const missing = "Secret inference/api-tls is neither in the input nor produced by an ExternalSecret, cert-manager Certificate or Gateway annotation, or SealedSecret"
	cases := []struct {
		name, doc string
		want      string // the unresolved message, "" for none
	}{
		{"nothing produces it", gateway(""), missing},
		{"unrelated annotation", gateway(", annotations: {example.com/x: y}"), missing},
		{"gateway-shim issuer", gateway(", annotations: {cert-manager.io/issuer: letsencrypt}"), ""},
		{"gateway-shim cluster-issuer", gateway(", annotations: {cert-manager.io/cluster-issuer: letsencrypt}"), ""},
		{"Certificate", gateway("") + `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: api, namespace: inference}
spec: {secretName: api-tls, dnsNames: [api.example.com], issuerRef: {name: le, kind: ClusterIssuer}}
`, ""},
		{"Certificate of another group", gateway("") + `apiVersion: example.com/v1
kind: Certificate
metadata: {name: api, namespace: inference}
spec: {secretName: api-tls}
`, missing},
		{"Certificate in another namespace", gateway("") + `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: api, namespace: other}
spec: {secretName: api-tls, dnsNames: [api.example.com], issuerRef: {name: le, kind: ClusterIssuer}}
`, missing},
		{"SealedSecret of the same name", gateway("") + `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: api-tls, namespace: inference}
spec: {encryptedData: {tls.crt: AgB=, tls.key: AgB=}}
`, ""},
		{"SealedSecret template name", gateway("") + `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: sealed, namespace: inference}
spec: {encryptedData: {tls.crt: AgB=}, template: {metadata: {name: api-tls}}}
`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range Check(objects.New(parse(t, tc.doc), nil)) {
				if f.Rule == objects.RuleUnresolved {
					got = append(got, f.Message)
				}
			}
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Provider auth reads the key Authorization: a SealedSecret's encryptedData tells its keys.
func TestSealedSecretKeys(t *testing.T) {
	doc := `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: key, namespace: apps}
spec: {encryptedData: {token: AgB=}}
`
	s := objects.New(parse(t, doc), nil)
	if got := strings.Join(secretKeys(s, "apps", "key"), " "); got != "token" {
		t.Errorf("keys %q, want token", got)
	}
	if got := secretKeys(s, "apps", "none"); got != nil {
		t.Errorf("keys of an unknown Secret %q, want nil", got)
	}
}

func parse(t *testing.T, doc string) []*manifest.Object {
	t.Helper()
	objs, err := manifest.Parse("in.yaml", []byte(doc), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}
