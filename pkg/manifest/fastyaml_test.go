package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/internal/corpus"
	"github.com/infergw/gwctl/internal/testenv"
)

// fastCases are tricky inputs: accept says whether the fast path must handle them (true) or
// must leave them to yaml.v3 (false). Either way, whatever it accepts must equal yaml.v3.
var fastCases = []struct {
	name, src string
	accept    bool
}{
	{"empty", "", true},
	{"only comments", "# a\n  # b\n\n", true},
	{"only marker", "---\n", true},
	{"markers", "---\n---\n", true},
	{"marker no newline", "---", true},
	{"marker comment", "--- # hello\na: 1\n", true},
	{"trailing empty doc", "a: 1\n---\n", true},
	{"trailing empty doc no newline", "a: 1\n---", true},
	{"trailing empty doc comment", "a: 1\n---\n# only comment", true},
	{"doc of only comments", "a: 1\n---\n# c\n---\nb: 2\n", true},
	{"no final newline", "a: 1\nb: x", true},
	{"trailing spaces", "a: 1   \nb:   \nc: [x]  \n  \n", true},
	{"nested empty values", "a:\n  b:\n    c:\n  d:\ne:\n", true},
	{"empty then less indented", "a:\n  b:\nc: 1\n", true},
	{"empty at end", "a:\n  b:", true},
	{"empty before marker", "a:\n---\nb:\n", true},
	{"empty with comment", "a: # c\nb: 1\n", true},
	{"seq at parent indent", "a:\n- 1\n- 2\nb:\n- x: 1\n  y: 2\n- z\n", true},
	{"seq indented", "a:\n  - 1\n  - 2\nb: 3\n", true},
	{"compact mapping", "- name: a\n  value: b\n- name: c\n", true},
	{"nested seq", "- - a\n  - b\n- - - c\n", true},
	{"empty entries", "-\n- \n- # c\n-", true},
	{"entry value on next line", "-\n  a: 1\n-\n  - x\n-\n  scalar\n", true},
	{"value on next line", "a:\n  scalar\nb:\n  [1, 2]\nc:\n  'q'\n", true},
	{"numbers", "a: -5\nb: - -5\n", false},
	{"dash values", "- -5\n- -\n", true},
	{"key dash", "key: -\n", false},
	{"plain with colons", "a: b:c\nurl: http://x:80/y\nt: 12:30:00\n", true},
	{"flow plain with colons", "{a: http://x, b: [c:d]}\n", true},
	{"flow trailing comma", "[a, b, ]\n", true},
	{"flow map trailing comma", "{a: 1, }\n", true},
	{"flow empty", "a: []\nb: {}\nc: [[], {}]\n", true},
	{"flow empty value", "{a: , b: 1, c: }\n", true},
	{"flow json", `{"apiVersion":"v1","kind":"X","metadata":{"name":"a"},"n":[1,2.5,true,null]}`, true},
	{"flow nested", "a: {b: [1, {c: d}], e: 'f'}\n", true},
	{"flow pair in seq", "[a: b]\n", false},
	{"flow key without value", "{a}\n", false},
	{"flow multi-line", "a: [1,\n  2]\n", true},
	{"flow multi-line forms", "a: [ # c\n  1, 'x', # d\n\n  {b: 2,\n   c: 3},\n  z\n  ,\n  w\n# e\n]\nb: {\n  k:\n    v, e:\n}\nc: [\n]\n", true},
	{"flow multi-line dedented", "a: [1,\n2]\nb:\n  - [3,\n4]\n", true},
	{"flow plain folds", "a: [b\n  c]\n", false},
	{"flow key colon next line", "{a\n: 1}\n", false},
	{"flow quoted key colon next line", "{\"a\"\n: 1}\n", false},
	{"flow marker inside", "[a,\n---\n]\n", false},
	{"flow comment without space", "[a,#c\n b]\n", false},
	{"flow unterminated", "[a,\n b\n", false},
	{"flow then content", "[a,\n b] c\n", false},
	{"hash in quotes", "a: \"x # y\"\nb: 'p # q'\nc: a#b\nd: x #comment\n", true},
	{"hash after quote", "a: \"x\"# y\n", false},
	{"quoted keys", "\"a b\": 1\n'c''d': 2\n\"\": 3\n\"e\" : 4\n", true},
	{"double escapes", `a: "q\" b\\ n\n t\t u\u00e9 U\U0001F600 x\x41 \xe9 z\0 \e \_ \N"` + "\n", true},
	{"bad escape", `a: "\q"` + "\n", false},
	{"slash escape", `a: "\/"` + "\n", false}, // JSON has it, yaml.v3 does not
	{"surrogate escape", `a: "\ud800"` + "\n", false},
	{"multi-line double", "a: \"x\n  y\"\n", true},
	{"multi-line single", "a: 'x\n  y'\n", true},
	{"multi-line quoted folding", "a: 'x  \n   y''s\n\n\n  z '\nb: \"p \\\n   q\\\n\n  r\\t \\\n  s\"\nc:\n- \"t\n  u\" # c\n", true},
	{"multi-line quoted shallow", "a: 'x\ny'\n", false},
	{"multi-line quoted key", "'a\n  b': c\n", false},
	{"multi-line quoted marker", "- 'a\n---\n  b'\n", false},
	{"multi-line quoted in flow", "a: ['x\n  y']\n", false},
	{"multi-line quoted tab", "a: 'x\n\ty'\n", false},
	{"multi-line quoted then key", "- a: \"x\n    y\"\n  b: 1\n", true},
	{"multi-line plain", "a: x\n  y\n", true},
	{"multi-line plain in seq", "- x\n  y\n", true},
	{"multi-line plain folding", "a: x  \n  y\n\n\n   z  \n\n  w # c\n  # d\nb: 1\n", true},
	{"multi-line plain comment ends", "a: x\n  # c\n  y\n", false},
	{"multi-line plain key inside", "a: x\n  y: z\n", false},
	{"multi-line plain dash", "k:\n- a\n  - b\n- c\n  d\ne: f\n   g\n", true},
	{"multi-line plain flow chars", "a: x\n  [y, {z}]\n  'q' \"r\" |s >t &u *v !w\n", true},
	{"multi-line plain becomes string", "a: 1\n  2\nb: true\n  false\n", true},
	{"multi-line plain own line", "a:\n  x\n   y\n  z\nb: 1\n", true},
	{"multi-line plain root", "x\ny\n---\nz\n", true},
	{"multi-line plain compact", "- a: x\n    y\n  b: z\n", true},
	{"multi-line plain not deeper", "- a: x\n  y\n", false},
	{"scalars", "a: ~\nb: null\nc: true\nd: 0x1f\ne: 1_000\nf: .5\ng: 1e3\nh: 2001-12-14\ni: .inf\nj: yes\nk: 0o17\nl: 09\nm: +1\n", true},
	{"merge key", "a: &x {b: 1}\nc:\n  <<: *x\n", false},
	{"merge key plain", "<<: 1\n", false},
	{"anchor", "a: &x 1\n", false},
	{"tag", "a: !!str 1\n", false},
	{"complex key", "? a\n: b\n", false},
	{"directive", "%YAML 1.2\n---\na: 1\n", false},
	{"document end", "a: 1\n...\n", false},
	{"tab indent", "a:\n\tb: 1\n", false},
	{"tab in value", "a: b\tc\n", false},
	{"tab in quotes", "a: \"b\tc\"\nd: 'e\tf'\n", true},
	{"cr", "a: 1\r\n", false},
	{"bom", "\ufeffa: 1\n", false},
	{"control", "a: \x01\n", false},
	{"nel", "a: b\u0085c\n", false},
	{"three-space indent", "a:\n   b:\n      c: 1\n   d:\n   - 1\n   -  2\n", true},
	{"odd indents", "a:\n b: 1\n c:\n     - x\n     -    y\n", true},
	{"bad dedent", "a:\n    b: 1\n  c: 2\n", false},
	{"key after seq", "a:\n  - x\n  b: 1\n", false},
	{"seq after value", "a: 1\n- b\n", false},
	{"root scalar", "hello world\n", true},
	{"root scalar then more", "hello\nworld\n", true},
	{"root scalar then mapping", "hello\nworld: 1\n", false},
	{"root indented mapping", "  a: 1\n  b: 2\n", true},
	{"root indented then dedent", "  a: 1\nb: 2\n", false},
	{"literal", "a: |\n  line 1\n  line 2\nb: 1\n", true},
	{"literal strip keep", "a: |-\n  x\n\n\nb: |+\n  y\n\n\nc: |\n  z\n\n\n", true},
	{"literal blank lines", "a: |\n  x\n\n    indented\n   \n  y\n\n", true},
	{"literal indicator", "a: |2\n    x\n  y\nb:\n  c: |1-\n    z\n", true},
	{"literal indicator order", "a: |-2\n   x\nb: |+1\n  y\n", true},
	{"literal zero indicator", "a: |0\n  x\n", false},
	{"literal empty", "a: |\nb: |-\n\nc: |+\n\n\nd: 1\n", true},
	{"literal at eof", "a: |\n  x", true},
	{"literal header eof", "a: |", true},
	{"literal markers inside", "a: |\n  ---\n  # not a comment\n  ...\nb: 1\n", true},
	{"literal ended by marker", "a: |\n  x\n---\nb: 1\n", true},
	{"literal comment", "a: | # c\n  x\n", true},
	{"literal in seq", "- |\n  x\n- a: |\n    y\n  b: 1\n", true},
	{"literal under indentless seq", "k:\n- |\n  x\n- y\n", true},
	{"literal tab content", "a: |\n  x\ty\n  \tz\n", true},
	{"literal leading tab", "a: |\n\tx\n", false},
	{"literal leading blank longer", "a: |\n      \n  x\n", false},
	{"literal less indented", "- a: |\n  x\n", false},
	{"literal trailing spaces line", "a: |\n  x\n     \n  y\n", true},
	{"literal own line", "a:\n  |\n  x\n", false},
	{"folded", "a: >\n  x\n  y\n", true},
	{"folded forms", "a: >-\n  x\n  y\n\n  z\n    indented\n  back\n\n\nb: >+\n  p\n   q\n  r\n\nc: >2\n    s\n  t\n", true},
	{"folded blank lines", "a: >\n\n  x\n\n\n  y\n  \n  z\n", true},
	{"folded tabs", "a: >\n  x\n  \ty\n  z\n", true},
	{"folded in seq", "- >-\n  a\n  b\n- c\n", true},
	{"comments everywhere", "# head\na: 1 # line\n# between\nb:\n  # inside\n  c: 2\n  # foot\n- # x\n", false},
	{"comments everywhere valid", "# head\na: 1 # line\n# between\nb: # after key\n  # inside\n  c: 2 # x\n  # foot\nd:\n# dedented\n- 1 # one\n  # more\n- 2\n# end\n", true},
	{"comment after flow", "a: [1] # c\nb: {c: d} # e\n", true},
	{"hash after flow", "a: [1]# c\n", false},
	{"unicode columns", "é: [ü, {ß: x}, ✓]\n\"ö\": 'ä'\n- x\n", false},
	{"unicode columns valid", "é: [ü, {ß: x}, ✓]\n\"ö\": 'ä' # ✓\nz: \"\U0001F600\": 1\n", false},
	{"unicode values", "é: [ü, {ß: x}, ✓]\n\"ö\": {a: 'ä', b: \"\U0001F600\", c: x}\n", true},
	{"long key", strings.Repeat("k", 1100) + ": v\n", false},
	{"long flow key", "{" + strings.Repeat("k", 1100) + ": v}\n", false},
	{"long value", "k: " + strings.Repeat("v", 3000) + "\n", true},
	{"key without space", "a:b\n", true},
	{"key spaced colon", "a : 1\nb  :  2\n", true},
	{"dashes in values", "a: ---\nb: -x\n- ---\n", false},
	{"dashes valid", "a: ---\nb: -x\nc: --\n", true},
	{"marker like", "----\n", false},
	{"marker with content", "--- a\n", false},
	{"duplicate keys", "a: 1\na: 2\n", true},
	{"at sign", "a: @x\n", false},
	{"question in flow", "[a?b]\n", false},
	{"question in block", "a: b?c\n", true},
	{"colon forms", "a: ':'\nb: \"x:\"\nc: x:\n", false},
	{"colon forms valid", "a: ':'\nb: \"x:\"\nc: ::x\nd: :x\n- ?y\n", false},
	{"colon and question starts", "a: :x\nb: ?y\n:c: 1\n?d: 2\ne:\n- :f\n", true},
	{"colon start in flow", "[:x]\n", false},
	{"weird plain", "a: b]c, d}\n", true},
	{"json object multi-line", "{\n  \"a\": 1\n}\n", true},
	{"json pretty", "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n    {\n      \"n\": -1.5e3,\n      \"t\": true,\n      \"z\": null,\n      \"e\": {},\n      \"s\": \"\\u00e9\\n\"\n    }\n  ]\n}\n", true},
	{"json two documents", "{\"a\": 1}\n{\"b\": 2}\n", false},
	{"multi docs", "a: 1\n---\nb: 2\n--- # c\nc: 3\n---\n\n---\n", true},
	{"deep flow", "a: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n", true},
	{"deeper flow", "a: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n", false},
}

func TestFastParseCases(t *testing.T) {
	for _, c := range fastCases {
		t.Run(c.name, func(t *testing.T) {
			accepted, diff := diffFast([]byte(c.src), DefaultLimits)
			if diff != "" {
				t.Fatalf("%q: %s", c.src, diff)
			}
			if accepted != c.accept {
				t.Errorf("%q: fast path accepted=%v, want %v", c.src, accepted, c.accept)
			}
			if d := diffParse("c.yaml", []byte(c.src), DefaultLimits); d != "" {
				t.Errorf("%q: Parse: %s", c.src, d)
			}
		})
	}
}

// TestFastParseLimits: the fast path leaves what breaks the depth limit to yaml.v3's path,
// which reports it, and refuses a document past MaxDocuments itself, as that path does.
func TestFastParseLimits(t *testing.T) {
	lim := DefaultLimits
	lim.MaxDocuments = 3
	three := []byte("a: 1\n---\nb: 2\n---\nc: 3\n")
	four := []byte("a: 1\n---\nb: 2\n---\nc: 3\n---\nd: 4\n")
	if docs, over, ok := fastParse(three, lim); !ok || over != nil || len(docs) != 3 {
		t.Errorf("three documents at a limit of three: %d documents, %v, %v", len(docs), over, ok)
	}
	if docs, over, ok := fastParse(four, lim); !ok || over == nil || len(docs) != 3 {
		t.Errorf("four documents at a limit of three: %d documents, %v, %v", len(docs), over, ok)
	}
	for _, src := range [][]byte{three, four} {
		if d := diffParse("d.yaml", src, lim); d != "" {
			t.Errorf("%q: %s", src, d)
		}
	}
	lim = DefaultLimits
	lim.MaxDepth = 3
	if _, _, ok := fastParse([]byte("a: {b: [c]}\n"), lim); !ok {
		t.Error("depth 3 declined at a limit of 3")
	}
	for _, src := range []string{"a: {b: [[c]]}\n", "a:\n  b:\n    c:\n      d: 1\n", "- - - - x\n"} {
		if _, _, ok := fastParse([]byte(src), lim); ok {
			t.Errorf("%q: depth 4 accepted at a limit of 3", src)
		}
		if d := diffParse("d.yaml", []byte(src), lim); d != "" {
			t.Errorf("%q: %s", src, d)
		}
	}
}

// TestFastParseNodeLimit: the fast path stops at the node past MaxNodes with the error the
// decoder gives for yaml.v3's trees (the same node, counted the same way); documents before
// come first. yaml.v3's path refuses before parsing, by a count of the text that is never lower.
func TestFastParseNodeLimit(t *testing.T) {
	src := []byte("apiVersion: v1\nkind: Gateway\nspec:\n  hostnames: ['*.a', '*.b', '*.c', '*.d']\n  x: {a: 1, b: 2}\n  y:\n  - p\n  - |\n    q\n---\napiVersion: v1\nkind: X\n")
	for max := 1; max <= 24; max++ {
		lim := DefaultLimits
		lim.MaxNodes = max
		fast, ferr := parse("n.yaml", src, lim, true)
		trees, err := yamlV3Docs(src)
		if err != nil {
			t.Fatal(err)
		}
		var want error
		budget := &fileBudget{}
		for doc, root := range trees {
			if _, want = decodeDocument("n.yaml", doc, root, lim, budget); want != nil {
				break
			}
		}
		if fmt.Sprint(ferr) != fmt.Sprint(want) {
			t.Errorf("MaxNodes %d: fast path %v, decoder on yaml.v3's trees %v", max, ferr, want)
		}
		if ferr == nil && len(fast) != 2 {
			t.Errorf("MaxNodes %d: %d objects", max, len(fast))
		}
		_, serr := parse("n.yaml", src, lim, false)
		if ferr != nil && serr == nil {
			t.Errorf("MaxNodes %d: yaml.v3's path accepts what the fast path refuses (%v)", max, ferr)
		}
	}
	lim := DefaultLimits
	lim.MaxNodes = 8
	if _, err := parse("n.yaml", src, lim, true); err == nil || err.Error() != "n.yaml:4:14: document 0 has more than 8 nodes (keys, values and items, aliases expanded), the limit per document" {
		t.Errorf("MaxNodes 8: got %v", err)
	}
}

// TestFastParseCorpus: the benchmark corpus is entirely on the fast path, with yaml.v3's trees
// and Parse's objects.
func TestFastParseCorpus(t *testing.T) {
	files, _ := corpus.Generate(2000)
	for _, f := range files {
		accepted, diff := diffFast(f.Data, DefaultLimits)
		if diff != "" {
			t.Fatalf("%s: %s", f.Name, diff)
		}
		if !accepted {
			t.Fatalf("%s: declined", f.Name)
		}
		if d := diffParse(f.Name, f.Data, DefaultLimits); d != "" {
			t.Fatalf("%s: Parse: %s", f.Name, d)
		}
	}
}

// TestFastParseRepoFiles runs every YAML file of the repository (with the upstream reference data
// derived into testdata/) through both paths.
func TestFastParseRepoFiles(t *testing.T) {
	root := testenv.RepoRoot(t)
	var paths []string
	walk := func(dir string) {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
				return filepath.SkipDir
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				paths = append(paths, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk(root)
	accepted := 0
	var declined []string
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ok, diff := diffFast(data, DefaultLimits)
		if diff != "" {
			t.Errorf("%s: %s", path, diff)
		}
		if ok {
			accepted++
		} else {
			rel, _ := filepath.Rel(root, path)
			declined = append(declined, rel)
		}
		if d := diffParse(path, data, DefaultLimits); d != "" {
			t.Errorf("%s: Parse: %s", path, d)
		}
	}
	t.Logf("fast path accepted %d of %d repository files; declined: %s", accepted, len(paths), strings.Join(declined, " "))
}

func FuzzFastParse(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c.src))
	}
	files, _ := corpus.Generate(40)
	for _, file := range files {
		f.Add(file.Data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxFileBytes: 1 << 20, MaxDepth: 64, MaxNodes: 50_000, MaxExpandedBytes: 1 << 20, MaxDocuments: 100}
		if _, diff := diffFast(data, lim); diff != "" {
			t.Fatalf("%q: %s", data, diff)
		}
	})
}

// TestPlainTag: the shortcuts of plainTag agree with yaml.v3's resolver.
func TestPlainTag(t *testing.T) {
	for _, v := range []string{
		"a", "true", "True", "TRUE", "tRue", "false", "no", "yes", "on", "off", "y", "n", "~", "null", "Null", "NULL", "nil",
		"0", "7", "-7", "+7", "007", "08", "09", "0x1f", "0o17", "0b101", "-0b1", "-0o7", "1_000", "123456789012345678",
		"1234567890123456789", "99999999999999999999", "-", "--", "-a", "1.5", "-1.5", ".5", "1e3", "1E3", "1e", ".inf", "-.inf",
		"+.inf", ".nan", ".NaN", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "10m", "1h",
		"300s", "8000Mi", "1Gi", "1/2", "0.5.1", "v1", "1-2", "12:30", "1:20:30", "<<", "ß", "+", ".", "0.", "-.5e-3",
	} {
		n := &yaml.Node{Kind: yaml.ScalarNode, Value: v}
		want := n.ShortTag()
		if v == "<<" {
			want = "!!merge" // set by yaml.v3's parser, not its resolver
		}
		if got := plainTag(n); got != want {
			t.Errorf("plainTag(%q) = %s, yaml.v3 resolves %s", v, got, want)
		}
	}
}
