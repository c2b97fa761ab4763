package lint

import (
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// A bucket larger than requests breaks a promise like "429 above 10 requests": it is a warning.
func TestBucketSeverity(t *testing.T) {
	cases := []struct {
		local string
		sev   finding.Severity
		msg   string
	}{
		{"{requests: 10, unit: Minutes}", finding.Info,
			"bucket 10 requests, +10/min (requests 10 + burst 0): starts full, shared by every client of the target, one bucket per proxy replica"},
		{"{requests: 10, unit: Minutes, burst: 5}", finding.Warning,
			"bucket 15 requests, +10/min (requests 10 + burst 5): starts full, shared by every client of the target, one bucket per proxy replica: a burst of up to 15 passes before the first 429, not 10"},
	}
	for _, tc := range cases {
		doc := `apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  traffic:
    rateLimit:
      local: [` + tc.local + `]
`
		var got []finding.Finding
		for _, f := range Check(objects.New(parse(t, doc), nil), true) {
			if f.Rule == RuleBucket {
				got = append(got, f)
			}
		}
		if len(got) != 1 || got[0].Severity != tc.sev || got[0].Message != tc.msg {
			t.Errorf("%s: got %v, want one %s %q", tc.local, got, tc.sev, tc.msg)
		}
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
