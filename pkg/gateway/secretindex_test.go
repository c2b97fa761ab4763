package gateway

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
)

// secretProducedWalk is secretProduced as it read the input before the index: every producer of
// the namespace in order up to the first that makes the Secret, then every Gateway.
func (c *compiler) secretProducedWalk(namespace, name string) bool {
	for _, o := range c.producers {
		if ns(o) == namespace && c.produces(o, name) {
			return true
		}
	}
	for _, gw := range c.gateways {
		if ns(gw) != namespace {
			continue
		}
		for _, s := range ShimSecrets(gw.Content, namespace) {
			if s == name {
				return true
			}
		}
	}
	return false
}

// TestSecretIndexMatchesWalk: on generated producers and gateway-shim Gateways (names of every
// type, absent, empty, several namespaces), the index answers as the walk did and reports the
// same type findings, in the same order, call after call.
func TestSecretIndexMatchesWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	nss := []string{"a", "b", ""}
	names := []string{"s1", "s2", "s3", ""}
	value := func() any {
		switch rng.IntN(6) {
		case 0:
			return nil
		case 1:
			return int64(7)
		case 2:
			return map[string]any{}
		default:
			return names[rng.IntN(len(names))]
		}
	}
	for round := 0; round < 200; round++ {
		var producers, gateways []*manifest.Object
		for i := range 1 + rng.IntN(12) {
			sp := SecretProducers[rng.IntN(len(SecretProducers))]
			o := &manifest.Object{APIVersion: sp.Group + "/v1", Kind: sp.Kind, Name: names[rng.IntN(3)], Namespace: nss[rng.IntN(3)], File: fmt.Sprintf("p%d", i)}
			spec := map[string]any{}
			switch v := value(); o.Kind {
			case "Certificate":
				spec["secretName"] = v
			case "ExternalSecret":
				spec["target"] = map[string]any{"name": v}
			case "SealedSecret":
				spec["template"] = map[string]any{"metadata": map[string]any{"name": v}}
			}
			o.Content = map[string]any{"spec": spec}
			producers = append(producers, o)
		}
		for i := range rng.IntN(4) {
			ref := map[string]any{"name": value()}
			if rng.IntN(3) == 0 {
				ref["namespace"] = nss[rng.IntN(3)]
			}
			gw := &manifest.Object{Kind: "Gateway", Name: fmt.Sprintf("gw%d", i), Namespace: nss[rng.IntN(3)], Content: map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{"cert-manager.io/issuer": []string{"", "le"}[rng.IntN(2)]}},
				"spec":     map[string]any{"listeners": []any{map[string]any{"tls": map[string]any{"certificateRefs": []any{ref}}}}},
			}}
			gateways = append(gateways, gw)
		}
		walk := &compiler{producers: producers, gateways: gateways}
		index := &compiler{producers: producers, gateways: gateways}
		for range 20 {
			namespace, name := nss[rng.IntN(3)], names[rng.IntN(len(names))]
			if namespace == "" {
				namespace = "default"
			}
			want, got := walk.secretProducedWalk(namespace, name), index.secretProduced(namespace, name)
			if want != got {
				t.Fatalf("round %d: %s/%s: index %v, walk %v", round, namespace, name, got, want)
			}
			if !reflect.DeepEqual(walk.findings, index.findings) {
				t.Fatalf("round %d: %s/%s: findings differ:\n index %v\n walk  %v", round, namespace, name, index.findings, walk.findings)
			}
		}
	}
}
