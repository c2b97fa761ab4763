package gateway

import (
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

func TestEndpointPicker(t *testing.T) {
	const route = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: agentgateway
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: p}]}]
---
`
	const eppSvc = `
---
apiVersion: v1
kind: Service
metadata: {name: epp, namespace: ns}
spec: {ports: [{name: grpc, port: 9002}]}
`
	pool := func(annotations, ref string) string {
		return route + `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: p, namespace: ns` + annotations + `}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
` + ref
	}
	ref := "  endpointPickerRef: {name: epp, port: {number: 9002}, failureMode: FailOpen}\n"
	for _, tc := range []struct {
		name     string
		src      string
		opts     Options
		external string // wanted picker address; "" for in-process
		sev      finding.Severity
		msg      string
	}{
		{name: "no reference", src: pool("", ""), sev: finding.Info, msg: "in-process (no endpointPickerRef)"},
		{name: "Service in the input", src: pool("", ref) + eppSvc, external: "epp.ns.svc.cluster.local:9002", sev: finding.Info, msg: "over ext_proc, failureMode FailOpen"},
		{name: "resolve override", src: pool("", ref), opts: Options{Resolve: map[string]string{"epp.ns": "127.0.0.1:9002"}}, external: "127.0.0.1:9002", sev: finding.Info, msg: "(127.0.0.1:9002) over ext_proc"},
		{name: "Service missing", src: pool("", ref), sev: finding.Error, msg: "Service ns/epp is not in the input"},
		{name: "in-process annotation", src: pool(", annotations: {gwctl.infergw.dev/endpoint-picker: in-process}", ref), sev: finding.Info, msg: "in-process (annotation"},
		{name: "unknown annotation value", src: pool(", annotations: {gwctl.infergw.dev/endpoint-picker: epp}", ref) + eppSvc, external: "epp.ns.svc.cluster.local:9002", sev: finding.Warning, msg: `"epp" is not in-process`},
		{name: "ExternalName", src: pool("", ref) + strings.Replace(eppSvc, "spec: {", "spec: {type: ExternalName, externalName: evil.example.com, ", 1), sev: finding.Error, msg: "ExternalName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, fs := Compile(parse(t, tc.src), tc.opts)
			var hit bool
			for _, f := range fs {
				if f.Severity == tc.sev && strings.Contains(f.Message, tc.msg) {
					hit = true
				}
			}
			if !hit {
				t.Errorf("no %s finding containing %q in %v", tc.sev, tc.msg, fs)
			}
			b := cfg.Backends["InferencePool/ns/p"]
			if b == nil {
				t.Fatalf("pool not compiled: %v", fs)
			}
			got := ""
			if b.Pool.Picker.External() {
				got = b.Pool.Picker.Service.Address
			}
			if got != tc.external {
				t.Errorf("picker address %q, want %q", got, tc.external)
			}
		})
	}
}
