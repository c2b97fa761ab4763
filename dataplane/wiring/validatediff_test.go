package wiring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/config"
	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/validate"
)

// The promise of gwctl validate is that a resource set without an error finding is one the
// dataplane loads. These tests hold it on resource sets made by mutating the bundled render
// and fixtures, comparing three verdicts on the same file:
//
//   - validate: pkg/validate, what gwctl validate runs, reports an error;
//   - compile: gateway.Compile, the compiler both share, reports an error;
//   - load: the dataplane's load (bootstrap, standard.Install and Load, as cmd/dataplane runs
//     them, without listeners) fails.
//
// compile must equal load: every check the dataplane makes while loading is a compile finding.
// No validate error must mean no compile error, so validate passing implies the dataplane loads.
// validate may refuse more than the dataplane (schema patterns and lengths, required fields the
// compiler defaults, Secrets missing from the input): those sets are counted, not failures.

type verdicts struct {
	validate, compile bool  // has an error finding
	load              error // nil: loaded
}

// check returns why v breaks the promise, or "".
func (v verdicts) check() string {
	switch {
	case v.compile != (v.load != nil):
		return fmt.Sprintf("compile error=%v but dataplane load error=%v", v.compile, v.load)
	case !v.validate && v.compile:
		return "gwctl validate passed a set the compiler refuses"
	}
	return ""
}

var validator = sync.OnceValues(func() (*validate.Validator, error) { return validate.New(validate.Options{}) })

// judge writes data to a file and computes the three verdicts on it.
func judge(t testing.TB, data []byte) verdicts {
	t.Helper()
	file := filepath.Join(t.TempDir(), "resources.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Load([]string{file}, nil, manifest.DefaultLimits)
	if err != nil {
		t.Fatalf("generated set does not parse: %v", err)
	}
	v, err := validator()
	if err != nil {
		t.Fatal(err)
	}
	var out verdicts
	out.validate = finding.HasErrors(v.Validate(context.Background(), objs), false)
	// The dataplane's defaults (cmd/dataplane): Gateways of other controllers' classes are left alone.
	cfg, fs := gateway.Compile(objs, gateway.Options{ControllerName: gateway.DefaultControllerName})
	out.compile = finding.HasErrors(fs, false)
	out.load = load(t, file, cfg)
	return out
}

// load runs the dataplane's load of file and releases what it built. Its context is cancelled
// from the start so nothing reaches the network: remote JWKS are not fetched, pools read the
// loopback endpoints given here instead of resolving DNS.
func load(t testing.TB, file string, cfg *gateway.Config) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pools := map[string][]string{}
	for _, b := range cfg.Backends {
		if b.Kind == gateway.KindInferencePool {
			pools[b.Name+"."+b.Namespace] = []string{"127.0.0.1:9"}
		}
	}
	d := bootstrap.New(bootstrap.Settings{Config: []string{file}, ControllerName: gateway.DefaultControllerName}, nil)
	in, err := Install(ctx, d, Options{SessionKey: make([]byte, 32), PoolEndpoints: pools})
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	defer in.setTracer("", nil)
	if _, err := d.Load(); err != nil {
		var inv *config.InvalidError
		var me *manifest.Error
		if !errors.As(err, &inv) && errors.As(err, &me) {
			t.Fatalf("generated set does not parse for the dataplane: %v", err)
		}
		return err
	}
	d.Server.Swap(http.NotFoundHandler(), nil) // releases the loaded backends
	return nil
}

const platformSecret = `apiVersion: v1
kind: Secret
metadata: {name: anthropic-api-key, namespace: agentgateway-system}
stringData: {Authorization: sk-test}
`

// A base is a resource set the mutations start from.
type base struct {
	name string
	data []byte
}

var bases = sync.OnceValues(func() ([]base, error) {
	var out []base
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		return nil, err
	}
	// The whole render (workloads, Services, Secrets and the gateway resources), as gwctl
	// validate checks it; the dataplane reads the resources it compiles out of it.
	r, err := render.Platform(context.Background(), cat, platform.Options{
		Enable: []string{"egress", "mcp", "identity", "observability", "fallback"},
		Set:    []string{"secretStore.name=secret-store"},
	})
	if err != nil {
		return nil, err
	}
	all, err := render.Stream(r.Objects)
	if err != nil {
		return nil, err
	}
	out = append(out, base{"bundled-render", all})
	for _, f := range []string{"../../pkg/gateway/testdata/valid/platform.yaml", "testdata/diff/transformation.yaml", "testdata/diff/providers.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if filepath.Base(f) == "platform.yaml" { // the compiler's fixture leaves out the Secret
			b = append(b, "\n---\n"+platformSecret...)
		}
		out = append(out, base{filepath.Base(f), b})
	}
	return out, nil
})

// mutate applies ms to a base and returns the generated set.
func mutate(t testing.TB, b base, ms []mutation) []byte {
	t.Helper()
	objs, err := manifest.Parse(b.name, b.data, manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		objs, _ = m.apply(objs)
	}
	var out bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Content)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("---\n")
		out.Write(data)
	}
	return out.Bytes()
}

// TestValidateMatchesLoad runs every mutation kind at a spread of sites of every base.
func TestValidateMatchesLoad(t *testing.T) {
	bs, err := bases()
	if err != nil {
		t.Fatal(err)
	}
	var runs, refused, validateOnly int
	for _, b := range bs {
		if v := judge(t, b.data); v.validate || v.load != nil {
			t.Fatalf("base %s is not clean: validate error=%v, load error=%v", b.name, v.validate, v.load)
		}
		objs, err := manifest.Parse(b.name, b.data, manifest.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		all := sites(objs)
		for op := byte(0); op < numOps; op++ {
			n := len(candidates(op, all))
			if op == opDropObject {
				n = len(objs)
			}
			// At most perOp sites of each op, spread over the candidates.
			const perOp = 12
			step := max(1, n/perOp)
			for i := 0; i < n; i += step {
				m := mutation{op: op, site: i, val: i + int(op)}
				v := judge(t, mutate(t, b, []mutation{m}))
				runs++
				if v.load != nil {
					refused++
				}
				if v.validate && v.load == nil {
					validateOnly++
				}
				if why := v.check(); why != "" {
					t.Errorf("%s %s site %d value %d: %s", b.name, opNames[op], m.site, m.val, why)
				}
			}
		}
	}
	t.Logf("%d generated sets: %d refused by the dataplane (and validate), %d refused by validate only (schema or cross-resource rules)", runs, refused, validateOnly)
}

// FuzzValidateMatchesLoad mutates a base with up to four edits read from ops, three bytes
// each (op, site, value), and holds the three verdicts to the promise.
func FuzzValidateMatchesLoad(f *testing.F) {
	bs, err := bases()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which byte, ops []byte) {
		b := bs[int(which)%len(bs)]
		var ms []mutation
		for i := 0; i+2 < len(ops) && len(ms) < 4; i += 3 {
			ms = append(ms, mutation{op: ops[i], site: int(ops[i+1]), val: int(ops[i+2])})
		}
		if why := judge(t, mutate(t, b, ms)).check(); why != "" {
			t.Errorf("%s with %v: %s", b.name, ms, why)
		}
	})
}
