package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/config"
	"github.com/infergw/gwctl/dataplane/server"
	"github.com/infergw/gwctl/internal/testenv"
)

// startPorts runs a dataplane with one loopback binding per Gateway port (0: every port) and
// returns each binding's address by port.
func startPorts(t testing.TB, s Settings, ports ...int32) (*Dataplane, map[int32]string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if s.WatchInterval == 0 {
		s.WatchInterval = 20 * time.Millisecond
	}
	d := New(s, slog.New(slog.NewJSONHandler(logs, nil)))
	if _, err := d.Load(); err != nil {
		var inv *config.InvalidError
		if errors.As(err, &inv) {
			t.Fatalf("load: %v\n%s", err, config.FormatFindings(inv.Findings))
		}
		t.Fatalf("load: %v", err)
	}
	addrs := map[int32]string{}
	var l server.Listeners
	for _, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[p] = ln.Addr().String()
		l.Bindings = append(l.Bindings, server.Binding{Listener: ln, Port: p})
	}
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Admin = adm
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.RunListeners(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("dataplane did not stop")
		}
	})
	admin := "http://" + adm.Addr().String()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("dataplane not ready")
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
	return d, addrs, logs
}

// tlsClient is an HTTPS client trusting ca that dials addr for every host: the test's DNS.
func tlsClient(ca *x509.CertPool, addr string, mod func(*tls.Config)) *http.Client {
	cfg := &tls.Config{RootCAs: ca}
	if mod != nil {
		mod(cfg)
	}
	tr := &http.Transport{
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: len(cfg.NextProtos) == 0, // else the transport would add h2 anyway
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// secretYAML is a kubernetes.io/tls Secret.
func secretYAML(ns, name string, kp testenv.KeyPair) string { return testenv.SecretYAML(ns, name, kp) }

// caConfigMap is a ConfigMap with ca.crt.
func caConfigMap(ns, name string, pemData []byte) string {
	return testenv.CAConfigMapYAML(ns, name, pemData)
}
