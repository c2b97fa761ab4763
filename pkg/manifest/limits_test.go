package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// The hostile inputs of security issue #15, and their neighbours: each is refused with an
// error naming the file, the line and the limit, within 1 s of CPU time and 256 MiB allocated.
// (CPU time, not wall time: on a busy machine the latter measures the neighbours.)
const (
	hostileTime  = time.Second
	hostileAlloc = 256 << 20
)

// aliasBomb is a small file (112 KB) that aliases one 100 KiB scalar 2,000 times: 200 MB
// once expanded.
func aliasBomb() []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a: &a ")
	b.WriteString(strings.Repeat("x", 100<<10))
	b.WriteString("\n  list:\n")
	for range 2000 {
		b.WriteString("  - *a\n")
	}
	return []byte(b.String())
}

// flatMapping is a 49 MB ConfigMap of 3.5 M short keys; metadata prefixes its value (an anchor
// sends the file to the yaml.v3 path).
func flatMapping(metadata string) []byte {
	b := make([]byte, 0, 50<<20)
	b = append(b, "apiVersion: v1\nkind: ConfigMap\nmetadata: "+metadata+"{name: flat}\ndata:\n"...)
	for i := range 3_500_000 {
		b = append(b, "  k"...)
		n := len(b)
		b = strconv.AppendInt(b, int64(10_000_000+i), 10)
		b = append(b[:n], b[n+1:]...) // seven digits, zero-padded
		b = append(b, ": 1\n"...)
	}
	return b
}

// laughs is a billion-laughs document: ten levels of ten aliases to the level below.
func laughs() []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s*l%d]\n", i, i, strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9), i-1)
	}
	return []byte(b.String())
}

// smallBombs is one file of many documents, each within the per-document limits but together
// expanding to far more than a file may add through aliases.
func smallBombs() []byte {
	doc := "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\na: &a " + strings.Repeat("x", 64<<10) + "\nb: [" + strings.Repeat("*a, ", 99) + "*a]\n"
	return []byte(strings.Repeat(doc, 100))
}

func TestHostileInputBounded(t *testing.T) {
	// The flat mapping's nodes: 11 before the data keys (the root mapping, 4 keys, 4 values,
	// metadata's mapping and data's), then a key and a value per line from line 5.
	flatLine := 5 + (DefaultLimits.MaxNodes+1-11-1)/2
	cases := []struct {
		name string
		data func() []byte
		want *regexp.Regexp // the whole error
	}{
		{"alias to a 100 KiB scalar 2,000 times", aliasBomb,
			regexp.MustCompile(`^hostile\.yaml:170:5: document 0 has more than 16777216 bytes of scalars \(keys and values, aliases expanded\), the limit per document$`)},
		{"flat mapping of 3.5 M keys", func() []byte { return flatMapping("") },
			regexp.MustCompile(fmt.Sprintf(`^hostile\.yaml:%d:13: document 0 has more than 250000 nodes \(keys, values and items, aliases expanded\), the limit per document$`, flatLine))},
		{"flat mapping of 3.5 M keys on the yaml.v3 path", func() []byte { return flatMapping("&m ") },
			regexp.MustCompile(`^hostile\.yaml:[1-9][0-9]{4,6}: document has more than 250000 nodes by a count of its text before parsing \(lines and : - , \? \[ \] { }\), the limit per document$`)},
		{"billion laughs", laughs,
			regexp.MustCompile(`^hostile\.yaml:9:\d+: document 0 has more than 250000 nodes \(keys, values and items, aliases expanded\), the limit per document$`)},
		{"many documents each under the limits", smallBombs,
			regexp.MustCompile(`^hostile\.yaml:\d+:\d+: aliases in this file expand to more than 16777216 bytes of scalars, the limit per file$`)},
		{"a million documents", func() []byte { return []byte(strings.Repeat("---\n", 1_000_000)) },
			regexp.MustCompile(`^hostile\.yaml:10001:1: more than 10000 documents, the limit per file$`)},
		{"a million documents on the yaml.v3 path", func() []byte { return []byte(strings.Repeat("--- !!null\n", 1_000_000)) },
			regexp.MustCompile(`^hostile\.yaml:10001:1: more than 10000 documents, the limit per file$`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.data()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start, cpu := time.Now(), cpuTime()
			_, err := parse("hostile.yaml", data, DefaultLimits, true) // even under GWCTL_NOFAST: the cases name their path
			cpu, wall := cpuTime()-cpu, time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes: %s CPU (%s wall), %d MiB allocated: %v", len(data), cpu.Round(time.Millisecond), wall.Round(time.Millisecond), alloc>>20, err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *manifest.Error", err)
			}
			if !c.want.MatchString(err.Error()) {
				t.Errorf("error %q\ndoes not match %s", err, c.want)
			}
			if cpu > hostileTime {
				t.Errorf("took %s of CPU, over %s", cpu, hostileTime)
			}
			if alloc > hostileAlloc {
				t.Errorf("allocated %d MiB, over %d MiB", alloc>>20, hostileAlloc>>20)
			}
		})
	}
}

// FuzzTextNodeCut: the count textNodeCut makes of a document's text is never below the nodes
// yaml.v3 builds for it, so yaml.v3 never builds a document past the limit it is cut at.
func FuzzTextNodeCut(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c.src))
	}
	for _, src := range []string{
		"{a,b,c}", "{a, b: , ? c, : d}", "[a: b, c: d, : e, ? f]", "[: ]", "{: }", "[?]", "? \n? \n: \n",
		"- \n- \n-", "-\n -\n  -", "a:\n  -\n  -\nb:", "--- a\n...\nb\n--- [c]\n...\n", "&a\n", "!t\n", "- &a\n- *a\n",
		"a: 1\rb: 2\r- x\r", "- \u0085- \u2028- \u2029-", "a:\u0085b:\u0085", "--- |\n  x\n---\n- y\n", "[a,\n---\n]",
		"{a: [b, {c: d}], e: [[f, g], {h}]}", "? - a\n  - b\n: - c\n", "a: !!str\nb: &x\nc: *x\n",
	} {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := yamlV3Docs(data)
		if err != nil {
			return
		}
		most := 0
		for _, d := range docs {
			most = max(most, treeNodes(d)-1) // the document node is not counted
		}
		if most < 2 {
			return // a limit of 0 is none
		}
		if cut, _ := textNodeCut(data, most-1); cut < 0 {
			t.Fatalf("%q: a document has %d nodes, the text count allows no more than %d", data, most, most-1)
		}
	})
}

func treeNodes(n *yaml.Node) int {
	total := 1
	for _, c := range n.Content {
		total += treeNodes(c)
	}
	return total
}
