package apiserverdiff

import (
	"context"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/kubeapi"
)

var updateTable = flag.Bool("update-table", false, "rewrite the table in VALIDATION.md from this run")

func TestMain(m *testing.M) { os.Exit(kubeapi.Main(m)) }

// An outcome is how the two judges answered one document.
type outcome int

const (
	agreeAccept outcome = iota
	agreeReject
	gwctlOnly  // gwctl rejects, the server accepts
	serverOnly // the server rejects, gwctl accepts
)

func (o outcome) String() string {
	return [...]string{"both accept", "both reject", "gwctl only rejects", "server only rejects"}[o]
}

func outcomeOf(server, gwctl verdict) outcome {
	switch {
	case server.Rejected && gwctl.Rejected:
		return agreeReject
	case server.Rejected:
		return serverOnly
	case gwctl.Rejected:
		return gwctlOnly
	}
	return agreeAccept
}

// A result is one document's judgement by both.
type result struct {
	doc           *doc
	set           string // the table's row: the custom resources' upstream, or built-in
	custom        bool
	server, gwctl verdict
	outcome       outcome
	sameMessages  bool // both reject with the same errors, word for word
}

// TestAgreesWithAPIServer judges every document of the corpus with kube-apiserver (create and
// server-side apply, dry runs, strict field validation, the derived CRDs installed) and with
// gwctl validate's checks of one object: no disagreement on custom resources, and on built-ins
// only those of allowedBuiltin, each with its reason.
func TestAgreesWithAPIServer(t *testing.T) {
	s := kubeapi.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	crds := loadCRDs(t)
	installCRDs(ctx, t, s, crds)
	installed := time.Since(began)

	docs := corpus(t, crds)
	createNamespaces(ctx, t, s, namespacesOf(docs))
	j := newServerJudge(t, s)
	start := time.Now()
	server := j.judgeAll(ctx, docs, 8)
	serverTook := time.Since(start)
	start = time.Now()
	gw, _ := gwctlJudge(t, docs)
	gwctlTook := time.Since(start)
	t.Logf("server started in %s; %d CRDs installed in %s; %d documents judged by the server in %s, by gwctl in %s",
		s.Started.Round(time.Millisecond), len(crds), installed.Round(time.Millisecond), len(docs), serverTook.Round(time.Millisecond), gwctlTook.Round(time.Millisecond))

	groupSet := map[string]string{}
	for _, c := range crds {
		groupSet[c.def.Spec.Group] = c.set.Name
	}
	results := make([]result, len(docs))
	for i, d := range docs {
		r := result{doc: d, server: server[i], gwctl: gw[i], set: "built-in"}
		if name, ok := groupSet[d.group()]; ok {
			r.set, r.custom = name, true
		}
		r.outcome = outcomeOf(r.server, r.gwctl)
		if r.outcome == agreeReject {
			r.sameMessages = joinErrors(normalise(r.server.Messages)) == joinErrors(normalise(r.gwctl.Messages))
		}
		results[i] = r
	}
	checkResults(t, results)
	table := renderTable(results)
	t.Log("\n" + table)
	writeTable(t, table)
}

// checkResults fails on every disagreement on a custom resource and on every built-in one
// allowedBuiltin does not list, on every difference of messages otherMessages does not list,
// and on every entry of either that no longer differs.
func checkResults(t *testing.T, results []result) {
	t.Helper()
	seen, seenMessages := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		if r.outcome != agreeAccept && r.outcome != agreeReject {
			reason, allowed := allowedBuiltin[r.doc.ID]
			seen[r.doc.ID] = allowed
			if !r.custom && allowed {
				if testing.Verbose() {
					t.Logf("allowed (%s): %s: %s\n server: %s\n gwctl:  %s", reason, r.doc.ID, r.outcome, joinErrors(r.server.Errors), joinErrors(r.gwctl.Errors))
				}
				continue
			}
			t.Errorf("%s (%s): %s\n server: %s\n gwctl:  %s", r.doc.ID, r.set, r.outcome, joinErrors(r.server.Errors), joinErrors(r.gwctl.Errors))
			continue
		}
		if r.outcome != agreeReject {
			continue
		}
		reason, listed := otherMessages[r.doc.ID]
		seenMessages[r.doc.ID] = listed && !r.sameMessages
		if !r.sameMessages && !listed {
			t.Errorf("messages differ: %s\n server: %s\n gwctl:  %s", r.doc.ID, joinErrors(normalise(r.server.Messages)), joinErrors(normalise(r.gwctl.Messages)))
		}
		if !r.sameMessages && listed && testing.Verbose() {
			t.Logf("messages differ (%s): %s", reason, r.doc.ID)
		}
	}
	for id := range otherMessages {
		if !seenMessages[id] {
			t.Errorf("otherMessages lists %q, whose messages are now the same (or which is gone): remove it", id)
		}
	}
	var stale []string
	for id := range allowedBuiltin {
		if !seen[id] {
			stale = append(stale, id)
		}
	}
	sort.Strings(stale)
	for _, id := range stale {
		t.Errorf("allowedBuiltin lists %q, which the judges now agree on (or which is gone): remove it", id)
	}
}

func namespacesOf(docs []*doc) []string {
	set := map[string]bool{}
	for _, d := range docs {
		if ns := d.meta("namespace"); ns != "" {
			set[ns] = true
		}
	}
	var out []string
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// corpus gathers every document the judges compare on.
func corpus(t *testing.T, crds []crd) []*doc {
	t.Helper()
	fixtures, renders, seeds := fixtureDocs(t), renderDocs(t), seedDocs(t)
	docs := append(append(append(fixtures, renders...), seeds...), builtinDocs(t)...)
	docs = append(docs, mutations(t, crds, append(append(validFixtures(fixtures), renders...), seeds...))...)
	ids := map[string]bool{}
	for _, d := range docs {
		if ids[d.ID] {
			t.Fatalf("two documents named %q", d.ID)
		}
		ids[d.ID] = true
	}
	return docs
}

// validFixtures are the fixtures of the upstream tests' valid files.
func validFixtures(docs []*doc) []*doc {
	var out []*doc
	for _, d := range docs {
		if strings.Contains(d.ID, "_valid.yaml#") {
			out = append(out, d)
		}
	}
	return out
}
