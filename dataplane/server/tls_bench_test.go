package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/certs"
	"github.com/infergw/gwctl/dataplane/server"
	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/gateway"
)

// tlsPeers starts, on loopback, a bare net/http server (ServeTLS, the same certificate, h2
// and http/1.1) and the dataplane's server terminating one HTTPS listener; both answer 1 KB.
// The dataplane's side runs its edge, metrics and per-request path but no access log and no
// route table, so the difference is TLS termination and the server itself.
func tlsPeers(b *testing.B) (ca *testenv.CA, bare, dataplane string) {
	b.Helper()
	ca = testenv.NewCA(b, "bench")
	kp := ca.Issue(b, testenv.Leaf{Names: []string{"api.example.com"}})
	body := bytes.Repeat([]byte("x"), 1024)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})

	lnBare, _ := net.Listen("tcp", "127.0.0.1:0")
	bs := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{kp.TLS}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = bs.ServeTLS(lnBare, "", "") }()
	b.Cleanup(func() { bs.Close() })

	store := certs.New(certs.Options{})
	l := &gateway.Listener{Gateway: gateway.NamespacedName{Namespace: "default", Name: "gw"}, Name: "https", Port: 443, Protocol: "HTTPS",
		Hostname: "api.example.com", TLS: &gateway.ListenerTLS{Certificates: []gateway.CertificateRef{
			{Namespace: "default", Name: "api", CertPEM: kp.CertPEM, KeyPEM: kp.KeyPEM, InInput: true}}}}
	store.Sync(certs.Refs(&gateway.Config{Listeners: []*gateway.Listener{l}}))
	table, err := server.NewTLSTable([]*gateway.Listener{l}, store.ServerConfig)
	if err != nil {
		b.Fatal(err)
	}
	s := server.New(server.Options{DisableAccessLog: true})
	s.SetTLS(table)
	s.Swap(h, nil)
	lnDP, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeBindings(ctx, []server.Binding{{Listener: lnDP, Port: 443}}, nil) }()
	b.Cleanup(func() { cancel(); <-done })
	return ca, lnBare.Addr().String(), lnDP.Addr().String()
}

func benchClient(ca *testenv.CA, addr string, keepAlive bool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: ca.Pool(), ServerName: "api.example.com"},
		DisableKeepAlives:   !keepAlive,
		MaxIdleConnsPerHost: 64,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func get(b *testing.B, c *http.Client) {
	resp, err := c.Get("https://api.example.com/v1/models")
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkTLSKeepAlive is TLS termination throughput: 1 KB responses on kept-alive HTTP/1.1
// connections, the bare net/http server and the dataplane side by side.
//
//	go test ./dataplane/server -run '^$' -bench 'TLS' -benchtime 3s
func BenchmarkTLSKeepAlive(b *testing.B) {
	ca, bare, dp := tlsPeers(b)
	for _, peer := range []struct{ name, addr string }{{"bare", bare}, {"dataplane", dp}} {
		b.Run(peer.name, func(b *testing.B) {
			c := benchClient(ca, peer.addr, true)
			defer c.CloseIdleConnections()
			get(b, c) // the handshake happens before timing
			b.SetBytes(1024)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get(b, c)
				}
			})
		})
	}
}

// BenchmarkTLSHandshake is the new-handshake rate: every request on a new connection, with a
// full handshake (no session resumption: each connection is a new client).
func BenchmarkTLSHandshake(b *testing.B) {
	ca, bare, dp := tlsPeers(b)
	for _, peer := range []struct{ name, addr string }{{"bare", bare}, {"dataplane", dp}} {
		b.Run(peer.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c := benchClient(ca, peer.addr, false)
					get(b, c)
				}
			})
		})
	}
}

// BenchmarkTLSSideBySide alternates requests between the bare server and the dataplane inside
// one loop, so a loaded machine slows both alike; it reports each one's median time per
// request (medians: on a shared machine the means are the scheduler's) and the dataplane's
// rate as a fraction of the bare server's (1.0 = as fast).
//
//	go test ./dataplane/server -run '^$' -bench 'TLSSideBySide' -benchtime 2000x
func BenchmarkTLSSideBySide(b *testing.B) {
	ca, bare, dp := tlsPeers(b)
	for _, mode := range []struct {
		name      string
		keepAlive bool
	}{{"keepalive-1KB", true}, {"handshake", false}} {
		b.Run(mode.name, func(b *testing.B) {
			cb, cd := benchClient(ca, bare, mode.keepAlive), benchClient(ca, dp, mode.keepAlive)
			defer cb.CloseIdleConnections()
			defer cd.CloseIdleConnections()
			get(b, cb)
			get(b, cd)
			tb, td := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				first, second, t1, t2 := cb, cd, &tb, &td
				if i%2 == 1 { // alternate which goes first
					first, second, t1, t2 = cd, cb, &td, &tb
				}
				for _, x := range []struct {
					c *http.Client
					t *[]time.Duration
				}{{first, t1}, {second, t2}} {
					if !mode.keepAlive {
						x.c.CloseIdleConnections()
					}
					start := time.Now()
					get(b, x.c)
					*x.t = append(*x.t, time.Since(start))
				}
			}
			mb, md := median(tb), median(td)
			b.ReportMetric(float64(mb.Nanoseconds()), "bare-median-ns")
			b.ReportMetric(float64(md.Nanoseconds()), "dataplane-median-ns")
			b.ReportMetric(float64(mb)/float64(md), "dataplane/bare-rate")
		})
	}
}

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}
