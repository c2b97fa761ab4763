// Command tracecount counts the scheduler's hand-offs per request in an execution trace of a
// proxy serving a concurrency-1 load (hack/bench/proxy -trace DIR): goroutines created, goroutine
// unblocks (by the unblocking stack and the wait they end), blocks, system calls, and procs
// started (a thread woken to run Go code), with what a started proc ran first. It is a module of
// its own so that the gateway's module does not depend on golang.org/x/exp.
//
//	cd hack/bench/tracecount && go run . /tmp/tr/pooled.trace /tmp/tr/dataplane.trace
//
// A request is one write system call of a response to the client (net/http's server writes
// through checkConnErrorWriter, dataplane/h1server through its connWriter; a response under
// 4 KiB is one write), counted between the proxy's first and last wait for an upstream response (net/http's
// Transport, or dataplane/h1's round trip on the handler's goroutine).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/exp/trace"
)

const depth = 4 // stack frames shown, after the runtime's

// event is one counted occurrence: its kind and what it is keyed by (stacks, reasons).
type event struct {
	t         trace.Time
	kind, key string
}

var kinds = []string{"create", "unblock", "block", "syscall", "yield", "proc start", "proc start, ran", "proc start, ran nothing"}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tracecount TRACE...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := count(path, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "tracecount: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func count(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		return err
	}
	var evs []event
	var first, last trace.Time
	waits := map[trace.GoID]string{}   // what a goroutine last blocked on
	wokenBy := map[trace.GoID]string{} // what made it runnable
	started := map[trace.ProcID]bool{} // proc started, nothing run on it yet
	for {
		e, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if e.Kind() != trace.EventStateTransition {
			continue
		}
		st := e.StateTransition()
		add := func(kind, key string) { evs = append(evs, event{e.Time(), kind, key}) }
		switch st.Resource.Kind {
		case trace.ResourceGoroutine:
			g := st.Resource.Goroutine()
			from, to := st.Goroutine()
			switch {
			case from == trace.GoNotExist && to == trace.GoRunnable:
				add("create", frames(e.Stack())+"  ==> "+top(st.Stack))
				waits[g], wokenBy[g] = "(new) "+top(st.Stack), "created"
			case from == trace.GoRunning && to == trace.GoWaiting:
				k := st.Reason + ": " + frames(e.Stack())
				waits[g] = k
				add("block", k)
				if has(e.Stack(), "net/http.(*persistConn).roundTrip") || has(e.Stack(), "github.com/infergw/gwctl/dataplane/h1.(*Transport).RoundTrip") {
					if first == 0 {
						first = e.Time()
					}
					last = e.Time()
				}
			case from == trace.GoWaiting && to == trace.GoRunnable:
				by := "(no goroutine: netpoll, timer or scheduler)"
				if e.Goroutine() != trace.NoGoroutine {
					by = frames(e.Stack())
				}
				add("unblock", by+"  ==> ends ["+waits[g]+"]")
				wokenBy[g] = by
			case from == trace.GoRunning && to == trace.GoSyscall:
				add("syscall", frames(e.Stack()))
				if responseWrite(e.Stack()) {
					add("request", "")
				}
			case from == trace.GoRunning && to == trace.GoRunnable:
				add("yield", st.Reason+": "+frames(e.Stack()))
			case from == trace.GoRunnable && to == trace.GoRunning && started[e.Proc()]:
				started[e.Proc()] = false
				add("proc start, ran", waits[g]+" | woken by "+wokenBy[g])
			}
		case trace.ResourceProc:
			from, to := st.Proc()
			switch {
			case from == trace.ProcIdle && to == trace.ProcRunning:
				add("proc start", "")
				started[st.Resource.Proc()] = true
			case from == trace.ProcRunning && to == trace.ProcIdle && started[e.Proc()]:
				started[e.Proc()] = false
				add("proc start, ran nothing", "")
			}
		}
	}
	n := 0.0
	for _, e := range evs {
		if e.t >= first && e.t < last && e.kind == "request" {
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("no request found (a server's write of a response between waits for an upstream)")
	}
	counts := map[string]map[string]int{}
	totals := map[string]int{}
	for _, e := range evs {
		if e.t < first || e.t >= last {
			continue
		}
		if counts[e.kind] == nil {
			counts[e.kind] = map[string]int{}
		}
		counts[e.kind][e.key]++
		totals[e.kind]++
	}
	fmt.Fprintf(w, "# %s: %.0f requests in %.1f ms\n\n| per request | count |\n|---|--:|\n", path, n, float64(last-first)/1e6)
	for _, k := range kinds {
		fmt.Fprintf(w, "| %s | %.2f |\n", k, float64(totals[k])/n)
	}
	for _, k := range kinds {
		fmt.Fprintf(w, "\n## %s: %.2f per request\n", k, float64(totals[k])/n)
		type kv struct {
			key string
			n   int
		}
		var l []kv
		for key, v := range counts[k] {
			l = append(l, kv{key, v})
		}
		sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n || l[i].n == l[j].n && l[i].key < l[j].key })
		for _, x := range l {
			if float64(x.n)/n >= 0.02 && x.key != "" {
				fmt.Fprintf(w, "  %.2f  %s\n", float64(x.n)/n, x.key)
			}
		}
	}
	fmt.Fprintln(w)
	return nil
}

// frames is a stack's innermost runtime frames and then depth frames of the caller.
func frames(s trace.Stack) string {
	var out []string
	callers := 0
	for f := range s.Frames() {
		out = append(out, f.Func)
		if callers > 0 || !runtimeFrame(f.Func) {
			callers++
		}
		if callers >= depth {
			break
		}
	}
	return strings.Join(out, " < ")
}

func runtimeFrame(fn string) bool {
	for _, p := range []string{"runtime.", "internal/", "sync.", "time."} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// top is a stack's innermost frame (a new goroutine's function).
func top(s trace.Stack) string {
	for f := range s.Frames() {
		return f.Func
	}
	return "?"
}

// responseWrite reports whether a system call is a server's write to a client connection.
func responseWrite(s trace.Stack) bool {
	return has(s, "net/http.checkConnErrorWriter.Write") || has(s, "github.com/infergw/gwctl/dataplane/h1server.connWriter.Write")
}

func has(s trace.Stack, fn string) bool {
	for f := range s.Frames() {
		if f.Func == fn {
			return true
		}
	}
	return false
}
