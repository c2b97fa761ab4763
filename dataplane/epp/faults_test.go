package epp

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	// A port below the ephemeral range: a port of a closed listener could be handed to the
	// next listener the test starts (once, the gateway's own, which then took the picker's
	// gRPC call and counted it).
	const a = "127.0.0.1:1"
	if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
		_ = c.Close()
		t.Fatalf("%s accepts connections: the test needs it refused", a)
	}
	return a
}

// Each fault of the picker, under both failure modes: the status the client gets and the
// metrics that count it. FailOpen falls back to the in-process picker (200 from a simulator).
func TestClientFaults(t *testing.T) {
	sims := startSims(t, 2, vllmsim.Config{})
	for _, tc := range []struct {
		name string
		// script is the fake picker; nil means no picker listens at all.
		script     func(f *fakeEPP) func(extprocv3.ExternalProcessor_ProcessServer) error
		timeout    time.Duration
		reason     string // gwctl_epp_errors_total{reason}; "" for none
		closed     int    // status under FailClose
		closedType string
	}{
		{name: "down", reason: "unavailable", closed: 503, closedType: "service_unavailable"},
		{
			name: "slow past the deadline", timeout: 100 * time.Millisecond, reason: "timeout", closed: 503, closedType: "service_unavailable",
			script: func(f *fakeEPP) func(extprocv3.ExternalProcessor_ProcessServer) error {
				return func(s extprocv3.ExternalProcessor_ProcessServer) error {
					if _, err := f.readRequest(s); err != nil {
						return err
					}
					<-s.Context().Done() // never answers
					return nil
				}
			},
		},
		{
			name: "endpoint not in the pool", reason: "not_in_pool", closed: 503, closedType: "service_unavailable",
			script: func(f *fakeEPP) func(extprocv3.ExternalProcessor_ProcessServer) error {
				return f.pick(picks{dest: "127.0.0.1:1"})
			},
		},
		{
			name: "garbage destination", reason: "invalid", closed: 503, closedType: "service_unavailable",
			script: func(f *fakeEPP) func(extprocv3.ExternalProcessor_ProcessServer) error {
				return f.pick(picks{dest: "http://evil.example/\r\nx: y"})
			},
		},
		{
			name: "garbage reply", reason: "invalid", closed: 503, closedType: "service_unavailable",
			script: func(f *fakeEPP) func(extprocv3.ExternalProcessor_ProcessServer) error {
				return func(s extprocv3.ExternalProcessor_ProcessServer) error {
					if _, err := f.readRequest(s); err != nil {
						return err
					}
					if err := s.Send(streamedReply([]byte("x"), true, true)); err != nil { // a response-phase reply
						return err
					}
					<-s.Context().Done()
					return nil
				}
			},
		},
		{
			name: "no destination", reason: "no_destination", closed: 503, closedType: "service_unavailable",
			script: func(f *fakeEPP) func(extprocv3.ExternalProcessor_ProcessServer) error {
				return func(s extprocv3.ExternalProcessor_ProcessServer) error {
					body, err := f.readRequest(s)
					if err != nil {
						return err
					}
					if err := s.Send(headersReply(nil)); err != nil {
						return err
					}
					if err := s.Send(streamedReply(body, true, false)); err != nil {
						return err
					}
					<-s.Context().Done()
					return nil
				}
			},
		},
		{
			name: "stream closed mid-request", reason: "stream_closed", closed: 503, closedType: "service_unavailable",
			script: func(f *fakeEPP) func(extprocv3.ExternalProcessor_ProcessServer) error {
				return func(s extprocv3.ExternalProcessor_ProcessServer) error {
					_, err := f.recv(s) // the headers, then the stream ends
					return err
				}
			},
		},
		{
			name: "picker error status", reason: "epp_error", closed: 503, closedType: "service_unavailable",
			script: func(f *fakeEPP) func(extprocv3.ExternalProcessor_ProcessServer) error {
				return func(s extprocv3.ExternalProcessor_ProcessServer) error {
					if _, err := f.recv(s); err != nil {
						return err
					}
					return status.Error(codes.Internal, "no pods available")
				}
			},
		},
		{
			name: "picker sheds (immediate 429)", closed: 429, closedType: "rate_limit_error",
			script: func(f *fakeEPP) func(extprocv3.ExternalProcessor_ProcessServer) error {
				return func(s extprocv3.ExternalProcessor_ProcessServer) error {
					if _, err := f.readRequest(s); err != nil {
						return err
					}
					return s.Send(immediateReply(429, "system saturated, sheddable request dropped"))
				}
			},
		},
	} {
		for _, fm := range []pool.FailureMode{pool.FailClose, pool.FailOpen} {
			t.Run(tc.name+"/"+string(fm), func(t *testing.T) {
				addr := deadAddr(t)
				if tc.script != nil {
					f := &fakeEPP{}
					f.script = tc.script(f)
					addr = serveGRPC(t, f)
				}
				p := startPool(t, "ns/"+strings.ReplaceAll(tc.name, " ", "-"), sims, fm, pool.SchedulerConfig{})
				gw := startGateway(t, p, addr, fm, Options{Timeout: tc.timeout})
				start := time.Now()
				r := post(t, gw.url, chatBody("sim-model", "hello there, how are you today?", false), nil)
				took := time.Since(start)

				wantStatus, outcome := tc.closed, "fail_close"
				if tc.reason == "" {
					outcome = "immediate"
				} else if fm == pool.FailOpen {
					wantStatus, outcome = http.StatusOK, "fail_open"
				}
				if r.status != wantStatus {
					t.Fatalf("status %d, want %d: %s", r.status, wantStatus, r.body)
				}
				if wantStatus != http.StatusOK && r.errType != tc.closedType {
					t.Errorf("error type %q, want %q (body %s)", r.errType, tc.closedType, r.body)
				}
				if wantStatus == 429 && r.header.Get("Retry-After") != "3" {
					t.Errorf("Retry-After %q, want the picker's 3", r.header.Get("Retry-After"))
				}
				if n := testutil.ToFloat64(gw.c.metrics.requests.WithLabelValues(p.Name(), outcome)); n != 1 {
					t.Errorf("gwctl_epp_requests_total{outcome=%q} = %v, want 1", outcome, n)
				}
				if tc.reason != "" {
					if n := testutil.ToFloat64(gw.c.metrics.errors.WithLabelValues(p.Name(), tc.reason)); n != 1 {
						t.Errorf("gwctl_epp_errors_total{reason=%q} = %v, want 1", tc.reason, n)
					}
				}
				if tc.timeout > 0 && took > tc.timeout+2*time.Second {
					t.Errorf("answered after %v with a %v deadline", took, tc.timeout)
				}
			})
		}
	}
}
