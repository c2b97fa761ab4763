package apiserverdiff

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"

	"github.com/infergw/gwctl/internal/kubeapi"
)

// An error is one complaint of a judge: the field it names (kube's path syntax, empty when the
// judge names none) and its message.
type fieldError struct{ Field, Message string }

func (e fieldError) String() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// A verdict is one judge's answer on one document.
type verdict struct {
	Rejected bool
	Errors   []fieldError
	// Messages are what the messages are compared on: for the server, the create path's errors
	// when it refuses, else server-side apply's; for gwctl, its errors and its notice that CEL
	// rules were skipped. Both are normalised by normalise.
	Messages []fieldError
}

// serverJudge asks kube-apiserver what `kubectl create --dry-run=server --validate=strict` and
// `kubectl apply --server-side --dry-run=server` would be told: a document is rejected when
// either path refuses it (server-side apply alone refuses duplicate list-map keys).
type serverJudge struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	mu     sync.Mutex // serialises mapper resets
}

func newServerJudge(t *testing.T, s *kubeapi.Server) *serverJudge {
	t.Helper()
	cfg := s.Config()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &serverJudge{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
}

// createNamespaces creates, for real, every namespace the documents live in (as kubectl apply
// of a render creates its Namespaces first), so that a dry run is refused only for what it holds.
func createNamespaces(ctx context.Context, t *testing.T, s *kubeapi.Server, names []string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(s.Config())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("namespace %s: %v", n, err)
		}
	}
}

func (j *serverJudge) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := j.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// Discovery is cached: a CRD installed after the first lookup needs a fresh one.
		j.mu.Lock()
		j.mapper.Reset()
		j.mu.Unlock()
		m, err = j.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

// judge sends the document to the create and the server-side-apply paths, both dry runs with
// strict field validation.
func (j *serverJudge) judge(ctx context.Context, content map[string]any) verdict {
	u := &unstructured.Unstructured{Object: content}
	m, err := j.mapping(u.GroupVersionKind())
	if err != nil {
		// kubectl says the same before it sends anything.
		return verdict{Rejected: true, Errors: []fieldError{{Message: err.Error()}}}
	}
	var ri dynamic.ResourceInterface = j.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := u.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		ri = j.dyn.Resource(m.Resource).Namespace(ns)
	}
	var v verdict
	_, err = ri.Create(ctx, u.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	if err != nil && !apierrors.IsAlreadyExists(err) { // AlreadyExists: validation passed (a Namespace made for real)
		v.Rejected = true
		v.Errors = statusErrors(err)
		v.Messages = v.Errors
	}
	if u.GetName() == "" {
		return v // apply addresses the object by name: create has said it
	}
	body, err := json.Marshal(content)
	if err != nil {
		return verdict{Rejected: true, Errors: []fieldError{{Message: err.Error()}}}
	}
	_, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "gwctl-diff", Force: new(true), FieldValidation: "Strict"})
	if err != nil {
		applyErrs := statusErrors(err)
		if !v.Rejected {
			v.Rejected, v.Errors, v.Messages = true, applyErrs, applyErrs
		} else {
			v.Errors = mergeErrors(v.Errors, applyErrs)
		}
	}
	return v
}

// statusErrors lists the causes of a refusal, or its message when it has none.
func statusErrors(err error) []fieldError {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return []fieldError{{Message: err.Error()}}
	}
	st := se.Status()
	var out []fieldError
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			out = append(out, fieldError{Field: c.Field, Message: c.Message})
		}
	}
	if len(out) == 0 {
		out = append(out, fieldError{Message: st.Message})
	}
	return out
}

// mergeErrors adds to a the errors of b it does not hold.
func mergeErrors(a, b []fieldError) []fieldError {
	seen := map[fieldError]bool{}
	for _, e := range a {
		seen[e] = true
	}
	for _, e := range b {
		if !seen[e] {
			a = append(a, e)
		}
	}
	return a
}

// judgeAll asks the server about every document, workers at a time.
func (j *serverJudge) judgeAll(ctx context.Context, docs []*doc, workers int) []verdict {
	out := make([]verdict, len(docs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				out[i] = j.judge(ctx, docs[i].Content)
			}
		})
	}
	for i := range docs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func sortErrors(es []fieldError) []fieldError {
	sort.Slice(es, func(i, k int) bool { return es[i].String() < es[k].String() })
	return es
}

func joinErrors(es []fieldError) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, e.String())
	}
	return strings.Join(parts, "; ")
}
