package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

// mixed.jsonl is go test -json of three packages: one with a passing test, a failing subtest
// and a skip for a missing file; one that does not build; one whose test panics.
func TestSummaryOfMixedRun(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "mixed.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := newSummary(&out, false)
	if err := s.read(bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if s.finish() {
		t.Error("a run with failures passed")
	}
	testenv.Golden(t, filepath.Join("testdata", "mixed.golden"), out.Bytes())
}

func TestSummaryCounts(t *testing.T) {
	const (
		pass    = `{"Action":"pass","Package":"p","Test":"TestA"}` + "\n"
		closing = `{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}` + "\n" + `{"Action":"pass","Package":"p"}` + "\n"
		chatter = `{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:1: chatter\n"}` + "\n"
	)
	skip := func(reason string) string {
		return `{"Action":"output","Package":"p","Test":"TestS","Output":"    s_test.go:9: ` + reason + `\n"}` + "\n" +
			`{"Action":"output","Package":"p","Test":"TestS","Output":"--- SKIP: TestS (0.00s)\n"}` + "\n" +
			`{"Action":"skip","Package":"p","Test":"TestS"}` + "\n"
	}
	for _, tc := range []struct {
		name   string
		in     string
		ci     bool
		pass   bool
		want   []string
		absent []string
	}{
		{"passing package prints its closing line only", chatter + pass + closing, true, true,
			[]string{"ok  \tp\t0.1s\n", "1 passed, 0 failed, 0 skipped\n"}, []string{"chatter"}},
		{"a skip for a flag passes under CI", pass + skip("runs only with -quality") + closing, true, true,
			[]string{"p TestS: s_test.go:9: runs only with -quality\n", "1 passed, 0 failed, 1 skipped\n"}, nil},
		{"a skip for a missing file passes locally", pass + skip("open testdata/x.yaml: no such file or directory") + closing, false, true,
			[]string{"1 passed, 0 failed, 1 skipped\n"}, []string{"under CI"}},
		{"a skip for a missing file fails under CI", pass + skip("open testdata/x.yaml: no such file or directory") + closing, true, false,
			[]string{"under CI=true a test skipped for a missing file fails the run (1): p TestS\n", "1 passed, 0 failed, 1 skipped\n"}, nil},
		{"a stream that ends inside a package fails", chatter, false, false,
			[]string{"chatter", "0 passed, 0 failed, 0 skipped\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := newSummary(&out, tc.ci)
			if err := s.read(strings.NewReader(tc.in)); err != nil {
				t.Fatal(err)
			}
			if got := s.finish(); got != tc.pass {
				t.Errorf("passed %v, want %v\n%s", got, tc.pass, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(out.String(), a) {
					t.Errorf("output has %q:\n%s", a, out.String())
				}
			}
		})
	}
}
