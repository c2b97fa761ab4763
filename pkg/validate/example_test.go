package validate_test

import (
	"context"
	"fmt"

	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate"
	"github.com/infergw/gwctl/pkg/validate/schema"
)

func ExampleValidator_Validate() {
	objs, err := manifest.Parse("policy.yaml", []byte(`apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: mcp-authn, namespace: mcp}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: mcp}
  traffic:
    jwtAuthentication:
      providers:
      - issuer: https://auth.example.com
        jwks:
          remote:
            jwksPath: /keys
            cacheDuration: 1m
            backendRef: {name: dex, namespace: dex}
`), manifest.DefaultLimits)
	if err != nil {
		panic(err)
	}
	v, err := validate.New(validate.Options{SkipCrossResource: true, SkipCompile: true})
	if err != nil {
		panic(err)
	}
	for _, f := range v.Validate(context.Background(), objs) {
		if f.Rule == schema.RuleCEL {
			fmt.Println(f.Position(), f.Field, "->", f.Message)
		}
	}
	// Output:
	// policy.yaml:14:28 spec.traffic.jwtAuthentication.providers[0].jwks.remote.cacheDuration -> Invalid value: "1m": cacheDuration must be at least 5m.
	// policy.yaml:15:25 spec.traffic.jwtAuthentication.providers[0].jwks.remote.backendRef -> Invalid value: Must have port for Service reference
}
