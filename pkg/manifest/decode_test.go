package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePositionsAndTypes(t *testing.T) {
	src := `# leading comment
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: apps
spec:
  ports:
  - port: 8080
    name: http
  ratio: 0.5
  big: 1.0
  flag: yes
  quoted: "yes"
---
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
`
	objs, err := Parse("a.yaml", []byte(src), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("got %d objects, want 2 (empty document skipped)", len(objs))
	}
	svc := objs[0]
	if svc.Kind != "Service" || svc.Name != "web" || svc.Namespace != "apps" || svc.Group() != "" || svc.Version() != "v1" {
		t.Fatalf("identity: %+v", svc)
	}
	ports := svc.Content["spec"].(map[string]any)["ports"].([]any)
	if p, ok := ports[0].(map[string]any)["port"].(int64); !ok || p != 8080 {
		t.Fatalf("port decoded as %T %v, want int64 8080", ports[0].(map[string]any)["port"], ports[0].(map[string]any)["port"])
	}
	spec := svc.Content["spec"].(map[string]any)
	if spec["ratio"] != 0.5 || spec["big"] != 1.0 {
		t.Fatalf("floats: %v %v", spec["ratio"], spec["big"])
	}
	if spec["flag"] != true || spec["quoted"] != "yes" {
		t.Fatalf("YAML 1.1 booleans: flag=%v quoted=%v", spec["flag"], spec["quoted"])
	}
	if got := svc.FieldPos("spec.ports[0].port"); got != (Pos{9, 11}) {
		t.Fatalf("port position %v", got)
	}
	// A missing field points at its nearest existing parent.
	if got := svc.FieldPos("spec.ports[0].targetPort"); got != (Pos{9, 5}) {
		t.Fatalf("missing field position %v", got)
	}
	if objs[1].Doc != 2 || objs[1].Pos.Line != 17 || objs[1].Group() != "gateway.networking.k8s.io" {
		t.Fatalf("second object: doc %d pos %v", objs[1].Doc, objs[1].Pos)
	}
	f := svc.Finding("spec.ports[0].port", "test", 2, "bad")
	if f.Position() != "a.yaml:9:11" || f.Resource.String() != "Service/apps/web" {
		t.Fatalf("finding %s", f)
	}
}

func TestParseErrors(t *testing.T) {
	bomb := "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	cases := []struct {
		name, src, want string
		line            int
	}{
		{"syntax", "apiVersion: v1\nkind: [\n", "YAML syntax", 2},
		{"duplicate key", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n", `duplicate key "name"`, 5},
		{"no kind", "apiVersion: v1\nmetadata: {}\n", "has no kind", 1},
		{"no apiVersion", "kind: Service\n", "has no apiVersion", 1},
		{"not a mapping", "- a\n- b\n", "not a Kubernetes object", 1},
		{"binary", "apiVersion: v1\x00\x01", "binary content", 0},
		{"deep", "apiVersion: v1\nkind: X\nspec: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n", "nesting deeper", 3},
		{"alias bomb", "apiVersion: v1\nkind: X\n" + bomb, "document 0 has more than 100000 nodes", 7},
		{"alias loop", "apiVersion: v1\nkind: X\na: &a {<<: *a}\n", "alias *a never ends", 3},
		{"bytes", "apiVersion: v1\nkind: X\na: &a " + strings.Repeat("x", 1000) + "\nb: [" + strings.Repeat("*a, ", 200) + "*a]\n", "document 0 has more than 100000 bytes of scalars", 4},
		{"deep through aliases", "apiVersion: v1\nkind: X\na: &a " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", "nesting deeper than 128 levels", 4},
		{"non-string key", "apiVersion: v1\nkind: X\n? [a]\n: b\n", "keys must be strings", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lim := DefaultLimits
			lim.MaxNodes, lim.MaxExpandedBytes = 100_000, 100_000
			_, err := Parse("bad.yaml", []byte(c.src), lim)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want *manifest.Error", err)
			}
			if !strings.Contains(e.Error(), c.want) || !strings.HasPrefix(e.Error(), "bad.yaml") {
				t.Fatalf("error %q does not name the file and %q", e.Error(), c.want)
			}
			if c.line != 0 && e.Pos.Line != c.line {
				t.Fatalf("error at line %d, want %d: %v", e.Pos.Line, c.line, e)
			}
		})
	}
}

func TestFileSizeLimit(t *testing.T) {
	_, err := Parse("big.yaml", make([]byte, 100), Limits{MaxFileBytes: 10})
	if err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("got %v", err)
	}
}

func TestMergeKeyAndJSON(t *testing.T) {
	objs, err := Parse("m.yaml", []byte("base: &b {x: 1, y: 2}\napiVersion: v1\nkind: K\nspec:\n  <<: *b\n  y: 3\n"), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	spec := objs[0].Content["spec"].(map[string]any)
	if spec["x"] != int64(1) || spec["y"] != int64(3) {
		t.Fatalf("merge: %v", spec)
	}
	objs, err = Parse("j.json", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"n":"1"}}`), DefaultLimits)
	if err != nil || objs[0].Name != "c" {
		t.Fatalf("json: %v %v", objs, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"))
	f.Add([]byte("a: &a [1,2]\nb: [*a,*a]\n"))
	f.Add([]byte("apiVersion: v1\nkind: X\na: &a " + strings.Repeat("x", 1<<10) + "\nb:\n" + strings.Repeat("- *a\n", 2000)))
	f.Add([]byte("a: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]\n"))
	f.Add([]byte("---\n---\n- x\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"X\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxFileBytes: 1 << 20, MaxDepth: 64, MaxNodes: 50_000, MaxExpandedBytes: 1 << 20, MaxDocuments: 100}
		objs, err := Parse("f.yaml", data, lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, o := range objs {
			if o.Kind == "" || o.APIVersion == "" || o.Content == nil {
				t.Fatalf("object without identity: %+v", o)
			}
			_ = o.FieldPos("spec.x[0].y")
		}
	})
}

func TestFieldPos(t *testing.T) {
	src := `apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  annotations:
    example.com/owner: team
    example.com: short
  labels: {app: web}
base: &base
  a: 1
  b: [x, y]
copy: *base
merged:
  <<: *base
  c: 3
ints: [0, -12, 007, 0x1f, 1_000, 123456789012345678901]
`
	objs, err := Parse("p.yaml", []byte(src), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	o := objs[0]
	for _, tc := range []struct {
		path string
		want Pos
	}{
		{"metadata.name", Pos{4, 9}},
		{"metadata.annotations.example.com/owner", Pos{6, 24}},
		{"metadata.annotations.example.com", Pos{7, 18}},
		{"metadata.annotations[example.com/owner]", Pos{6, 24}},
		{"metadata.labels[app]", Pos{8, 17}},
		{"metadata.labels.missing", Pos{8, 11}},
		{"base.b[1]", Pos{11, 10}},
		{"base.b[7]", Pos{11, 6}},
		{"copy", Pos{12, 7}},
		{"copy.b[0]", Pos{11, 7}}, // through the alias, at the anchored value
		{"merged.a", Pos{14, 3}},  // from the merge key: the enclosing mapping
		{"merged.c", Pos{15, 6}},
		{".metadata.name", Pos{4, 9}}, // field.Path roots
		{"<nil>.metadata", Pos{4, 3}},
		{"nothing.at.all", Pos{1, 1}},
	} {
		if got := o.FieldPos(tc.path); got != tc.want {
			t.Errorf("FieldPos(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	ints := o.Content["ints"].([]any)
	want := []any{int64(0), int64(-12), int64(7), int64(31), int64(1000), 1.2345678901234568e20}
	for i := range want {
		if ints[i] != want[i] {
			t.Errorf("ints[%d] = %T %v, want %T %v", i, ints[i], ints[i], want[i], want[i])
		}
	}
}
