package bootstrap

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
)

var (
	rotationDuration = flag.Duration("rotation.duration", 3*time.Second, "how long TestCertificateRotationUnderLoad rotates (make soak-ci: 30s)")
	rotationEvery    = flag.Duration("rotation.every", 250*time.Millisecond, "how often TestCertificateRotationUnderLoad replaces the certificate (make soak-ci: 1s)")
)

// TestCertificateRotationUnderLoad replaces a mounted certificate again and again while clients
// send requests: no request fails; every new certificate reaches new handshakes; a connection
// opened before a rotation keeps serving on its certificate; a bad certificate (a key that does
// not match) is refused, counted and logged while the previous one keeps serving.
func TestCertificateRotationUnderLoad(t *testing.T) {
	e := startHTTPS(t, 443)
	addr := e.addrs[443]
	ctx, cancel := context.WithTimeout(context.Background(), *rotationDuration+10*time.Second)
	defer cancel()

	var sent, failed atomic.Int64
	var failMu sync.Mutex
	var failures []string
	fail := func(s string) {
		failed.Add(1)
		failMu.Lock()
		if len(failures) < 5 {
			failures = append(failures, s)
		}
		failMu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Two clients that keep their connections and two that handshake on every request.
	for i := 0; i < 4; i++ {
		keep := i < 2
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := tlsClient(e.ca.Pool(), addr, func(c *tls.Config) { c.ServerName = "x.apps.example.com" })
			c.Transport.(*http.Transport).DisableKeepAlives = !keep
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get("https://x.apps.example.com/")
				sent.Add(1)
				if err != nil {
					fail(err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fail(fmt.Sprintf("status %d", resp.StatusCode))
				}
			}
		}()
	}
	// A connection opened now keeps its certificate through every rotation.
	early := tlsClient(e.ca.Pool(), addr, func(c *tls.Config) { c.ServerName = "y.apps.example.com" })
	resp, err := early.Get("https://y.apps.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	firstSerial := resp.TLS.PeerCertificates[0].SerialNumber

	served := func() (*big.Int, error) {
		c := tlsClient(e.ca.Pool(), addr, func(c *tls.Config) { c.ServerName = "z.apps.example.com" })
		defer c.CloseIdleConnections()
		resp, err := c.Get("https://z.apps.example.com/")
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber, nil
	}
	rotations, badDone := 0, false
	tick := time.NewTicker(*rotationEvery)
	defer tick.Stop()
	end := time.Now().Add(*rotationDuration)
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			t.Fatal("timed out")
		case <-tick.C:
		}
		if rotations == 2 && !badDone {
			badDone = true
			before, _ := served()
			bad := e.ca.Issue(t, testenv.Leaf{Names: []string{"*.apps.example.com"}})
			bad.KeyPEM = testenv.OtherKey(t)
			testenv.WriteSecret(t, e.secrets, "apps-mounted", bad)
			waitFor(t, "refusal logged", func() bool { return strings.Contains(e.logs.String(), "certificate refused: keeping the one in use") })
			if after, err := served(); err != nil || after.Cmp(before) != 0 {
				t.Fatalf("after a bad certificate: serial %v (before %v), err %v", after, before, err)
			}
			continue
		}
		next := e.ca.Issue(t, testenv.Leaf{Names: []string{"*.apps.example.com"}})
		testenv.WriteSecret(t, e.secrets, "apps-mounted", next)
		want := next.TLS.Leaf // tls.X509KeyPair sets it
		waitFor(t, "rotated certificate served", func() bool {
			s, err := served()
			return err == nil && s.Cmp(want.SerialNumber) == 0
		})
		rotations++
	}
	close(stop)
	wg.Wait()

	// The early connection still works, on the certificate it started with.
	resp, err = early.Get("https://y.apps.example.com/")
	if err != nil {
		t.Fatalf("early connection: %v", err)
	}
	resp.Body.Close()
	if resp.TLS.PeerCertificates[0].SerialNumber.Cmp(firstSerial) != 0 {
		t.Errorf("the early connection's certificate changed: it should keep its handshake's")
	}
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during %d rotations: %v", failed.Load(), sent.Load(), rotations, failures)
	}
	if rotations < 3 || sent.Load() < 10 {
		t.Fatalf("only %d rotations, %d requests", rotations, sent.Load())
	}
	metrics := scrape(t, e)
	if !strings.Contains(metrics, `dataplane_tls_certificate_refused_total{reason="key_mismatch",secret="default/apps-mounted"} 1`) {
		t.Errorf("refusal not counted:\n%s", grep(metrics, "dataplane_tls_certificate"))
	}
	t.Logf("%d requests, %d rotations, 0 failures", sent.Load(), rotations)
}

func scrape(t *testing.T, e *httpsEnv) string {
	t.Helper()
	var b strings.Builder
	mfs, err := e.d.Prometheus.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			fmt.Fprintf(&b, "%s{%s} %g\n", mf.GetName(), strings.Join(labels, ","), v)
		}
	}
	return b.String()
}

// TestCertificateRotationFromConfig replaces a certificate held in the resources file: the
// reload installs it; a resources file with a bad certificate is refused as a whole, and the
// certificate in use stays.
func TestCertificateRotationFromConfig(t *testing.T) {
	e := startHTTPS(t, 443)
	addr := e.addrs[443]
	served := func() *big.Int {
		c := tlsClient(e.ca.Pool(), addr, nil)
		defer c.CloseIdleConnections()
		resp, err := c.Get("https://api.example.com/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber
	}
	if served().Cmp(e.api.TLS.Leaf.SerialNumber) != 0 {
		t.Fatal("not the configured certificate")
	}
	other := e.ca.Issue(t, testenv.Leaf{Names: []string{"only.apps.example.com"}})
	next := e.ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	writeConfig(t, e.dir, httpsGatewayYAML+secretYAML("default", "api-cert", next)+secretYAML("default", "apps-rsa", other))
	waitFor(t, "new certificate", func() bool { return served().Cmp(next.TLS.Leaf.SerialNumber) == 0 })

	bad := e.ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	bad.KeyPEM = testenv.OtherKey(t)
	writeConfig(t, e.dir, httpsGatewayYAML+secretYAML("default", "api-cert", bad)+secretYAML("default", "apps-rsa", other))
	waitFor(t, "reload refused", func() bool {
		return strings.Contains(e.logs.String(), "private key does not match the certificate") &&
			strings.Contains(e.logs.String(), "config reload rejected")
	})
	if served().Cmp(next.TLS.Leaf.SerialNumber) != 0 {
		t.Fatal("a refused reload changed the certificate")
	}
	if strings.Contains(e.logs.String(), "-----BEGIN") {
		t.Fatal("key material in the logs")
	}
}
