package epp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// poolResources is an InferencePool on targetPort routed by an HTTPRoute, as gwctl renders it.
func poolResources(targetPort int) string {
	return fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: inference}
spec:
  gatewayClassName: agentgateway
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: models, namespace: inference}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: vllm}]}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: vllm, namespace: inference}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: %d}]
`, targetPort)
}

// serveEPP runs `dataplane epp`'s library on loopback over the resources, with the simulators as
// the pool's endpoints, and returns an ext_proc client as Envoy uses it (go-control-plane's).
func serveEPP(t *testing.T, sims []string, maxBody int64) (extprocv3.ExternalProcessorClient, *grpc.ClientConn) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "resources.yaml")
	if err := os.WriteFile(file, []byte(poolResources(8000)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, ServeOptions{Config: []string{file}, MaxBodyBytes: maxBody, PoolEndpoints: map[string][]string{"vllm.inference": sims}})
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	// Ready once every endpoint has metrics: a body-less pick restricted to it succeeds (a
	// test's subset of one must not find its endpoint unscraped).
	client := extprocv3.NewExternalProcessorClient(cc)
	for _, sim := range sims {
		waitFor(t, 5*time.Second, "picker ready for "+sim, func() bool {
			s, err := client.Process(context.Background())
			if err != nil {
				return false
			}
			defer func() { _ = s.CloseSend() }()
			if s.Send(headersMsg(nil, true, subsetMetadata([]string{sim}))) != nil {
				return false
			}
			m, err := s.Recv()
			return err == nil && m.GetRequestHeaders() != nil
		})
	}
	return client, cc
}

func headersMsg(h map[string]string, eos bool, md *corev3.Metadata) *extprocv3.ProcessingRequest {
	hm := &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: ":method", RawValue: []byte("POST")}, {Key: ":path", RawValue: []byte("/v1/chat/completions")},
		{Key: "content-type", RawValue: []byte("application/json")},
	}}
	for k, v := range h {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: k, RawValue: []byte(v)})
	}
	return &extprocv3.ProcessingRequest{
		Request:         &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: hm, EndOfStream: eos}},
		MetadataContext: md,
	}
}

func bodyMsg(b []byte, eos bool) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: b, EndOfStream: eos}}}
}

// The server driven the way Envoy drives an EPP, checked against the protocol: the pick in the
// header and the identical envoy.lb metadata, the body sent back unchanged in full duplex, the
// subset hint obeyed, errors as immediate responses, the response phases answered.
func TestServerProtocol(t *testing.T) {
	sims := startSims(t, 3, vllmsim.Config{})
	client, cc := serveEPP(t, sims, 4096)
	body := chatBody("sim-model", strings.Repeat("the same long system prompt ", 20), true)

	// destOf checks a pick reply carries the same list in the header and the metadata.
	destOf := func(t *testing.T, cr *extprocv3.CommonResponse, m *extprocv3.ProcessingResponse) string {
		t.Helper()
		md, ok := destination(m.GetDynamicMetadata(), nil)
		hdr, hok := destination(nil, cr.GetHeaderMutation())
		if !ok || !hok || md != hdr {
			t.Fatalf("destination metadata %q (%v) and header %q (%v) must both be set and equal", md, ok, hdr, hok)
		}
		return md
	}

	t.Run("full duplex", func(t *testing.T) {
		s, err := client.Process(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*extprocv3.ProcessingRequest{headersMsg(nil, false, nil), bodyMsg(body[:50], false), bodyMsg(body[50:], true)} {
			if err := s.Send(m); err != nil {
				t.Fatal(err)
			}
		}
		hr, err := s.Recv()
		if err != nil || hr.GetRequestHeaders() == nil {
			t.Fatalf("first reply %v, %v: want the request headers reply", hr, err)
		}
		dest := destOf(t, hr.GetRequestHeaders().GetResponse(), hr)
		first := strings.Split(dest, ",")[0]
		if !contains(sims, first) {
			t.Fatalf("picked %q, not an endpoint of the pool %v", dest, sims)
		}
		br, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		sr := br.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse()
		if string(sr.GetBody()) != string(body) || !sr.GetEndOfStream() {
			t.Fatalf("body sent back %q (eos %v), want the request body unchanged", sr.GetBody(), sr.GetEndOfStream())
		}
		// Response phases: served endpoint reported, headers and body answered.
		if err := s.Send(&extprocv3.ProcessingRequest{
			Request:         &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{}}},
			MetadataContext: servedMetadata(first),
		}); err != nil {
			t.Fatal(err)
		}
		if m, err := s.Recv(); err != nil || m.GetResponseHeaders() == nil {
			t.Fatalf("response headers reply %v, %v", m, err)
		}
		if err := s.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: []byte("data: x\n\n"), EndOfStream: true}}}); err != nil {
			t.Fatal(err)
		}
		m, err := s.Recv()
		if got := m.GetResponseBody().GetResponse().GetBodyMutation().GetStreamedResponse(); err != nil || string(got.GetBody()) != "data: x\n\n" || !got.GetEndOfStream() {
			t.Fatalf("response body reply %v, %v: want the chunk sent back", m, err)
		}
		_ = s.CloseSend()
	})

	for _, tc := range []struct {
		name   string
		subset []string
		want   func(string) bool
		status int // immediate response status; 0 for a pick
	}{
		{name: "subset of one", subset: []string{sims[1]}, want: func(d string) bool { return d == sims[1] }},
		{name: "subset by IP", subset: []string{"127.0.0.1"}, want: func(d string) bool { return contains(sims, strings.Split(d, ",")[0]) }},
		{name: "empty subset", subset: []string{}, status: 503},
		{name: "subset outside the pool", subset: []string{"127.0.0.2:1"}, status: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := client.Process(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.CloseSend() }()
			if err := s.Send(headersMsg(nil, false, subsetMetadata(tc.subset))); err != nil {
				t.Fatal(err)
			}
			if err := s.Send(bodyMsg(body, true)); err != nil {
				t.Fatal(err)
			}
			m, err := s.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if tc.status != 0 {
				if got := int(m.GetImmediateResponse().GetStatus().GetCode()); got != tc.status {
					t.Fatalf("reply %v: want immediate %d", m, tc.status)
				}
				return
			}
			if d := destOf(t, m.GetRequestHeaders().GetResponse(), m); !tc.want(d) {
				t.Fatalf("picked %q outside the subset %v", d, tc.subset)
			}
		})
	}

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			body   []byte
			status int
		}{
			{"no model", []byte(`{"messages":[{"role":"user","content":"hi"}]}`), 400},
			{"duplicate model key", []byte(`{"model":"a","model":"b","messages":[]}`), 400},
			{"body over the limit", []byte(`{"model":"sim-model","prompt":"` + strings.Repeat("x", 5000) + `"}`), 413},
		} {
			s, err := client.Process(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			_ = s.Send(headersMsg(nil, false, nil))
			_ = s.Send(bodyMsg(tc.body, true))
			m, err := s.Recv()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			ir := m.GetImmediateResponse()
			if int(ir.GetStatus().GetCode()) != tc.status || !strings.Contains(string(ir.GetBody()), `"error"`) {
				t.Errorf("%s: reply %v: want immediate %d with an OpenAI error body", tc.name, m, tc.status)
			}
			_ = s.CloseSend()
		}
	})

	t.Run("buffered", func(t *testing.T) {
		s, err := client.Process(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.CloseSend() }()
		h := headersMsg(nil, false, nil)
		h.ProtocolConfig = &extprocv3.ProtocolConfiguration{RequestBodyMode: BodyBuffered, ResponseBodyMode: BodyNone}
		if err := s.Send(h); err != nil {
			t.Fatal(err)
		}
		// Envoy waits for this reply before it sends a buffered body.
		m, err := s.Recv()
		if err != nil || m.GetRequestHeaders() == nil {
			t.Fatalf("headers reply %v, %v", m, err)
		}
		if err := s.Send(bodyMsg(body, true)); err != nil {
			t.Fatal(err)
		}
		m, err = s.Recv()
		if err != nil || m.GetRequestBody() == nil {
			t.Fatalf("body reply %v, %v", m, err)
		}
		if d := destOf(t, m.GetRequestBody().GetResponse(), m); !contains(sims, strings.Split(d, ",")[0]) {
			t.Fatalf("picked %q", d)
		}
	})

	t.Run("health", func(t *testing.T) {
		hc := healthpb.NewHealthClient(cc)
		for _, svc := range []string{"liveness", "readiness", "envoy.service.ext_proc.v3.ExternalProcessor"} {
			waitFor(t, 3*time.Second, svc+" serving", func() bool {
				r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
				return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
			})
		}
	})
}
