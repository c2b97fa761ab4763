package certs

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
	"github.com/infergw/gwctl/pkg/gateway"
)

// Update is what the Kubernetes source calls on a Secret change: a good certificate replaces
// the one in use; a bad one is refused with its reason and the one in use stays.
func TestUpdate(t *testing.T) {
	ca := testenv.NewCA(t, "ca")
	first := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	second := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}})
	expired := ca.Issue(t, testenv.Leaf{Names: []string{"api.example.com"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	s := New(Options{})
	if err := s.Update("default", "api", first.CertPEM, first.KeyPEM); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		crt, key  []byte
		wantErr   string
		wantInUse *testenv.KeyPair
	}{
		{"key of another certificate", first.CertPEM, second.KeyPEM, "private key does not match", &first},
		{"not PEM", []byte("garbage"), first.KeyPEM, "malformed certificate", &first},
		{"no key", first.CertPEM, nil, "malformed private key", &first},
		{"expired while the one in use is valid", expired.CertPEM, expired.KeyPEM, "certificate expired", &first},
		{"a good rotation", second.CertPEM, second.KeyPEM, "", &second},
		{"the same again", second.CertPEM, second.KeyPEM, "", &second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update("default", "api", tc.crt, tc.key)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "-----BEGIN") {
				t.Fatal("key material in the error")
			}
			got := s.Get("default", "api")
			if got == nil || got.Leaf.SerialNumber.Cmp(tc.wantInUse.TLS.Leaf.SerialNumber) != 0 {
				t.Fatalf("in use: %v", got)
			}
		})
	}
}

// A listener's configuration reads the store on every handshake: a rotation applies to the
// next handshake without a new configuration, and the certificate is picked by server name.
func TestServerConfigPicksBySNI(t *testing.T) {
	ca := testenv.NewCA(t, "ca")
	a := ca.Issue(t, testenv.Leaf{Names: []string{"a.example.com"}})
	b := ca.Issue(t, testenv.Leaf{Names: []string{"b.example.com"}})
	s := New(Options{})
	l := &gateway.Listener{Name: "https", TLS: &gateway.ListenerTLS{Certificates: []gateway.CertificateRef{
		{Namespace: "ns", Name: "a", CertPEM: a.CertPEM, KeyPEM: a.KeyPEM, InInput: true},
		{Namespace: "ns", Name: "b", CertPEM: b.CertPEM, KeyPEM: b.KeyPEM, InInput: true}}}}
	s.Sync(l.TLS.Certificates)
	cfg, err := s.ServerConfig(l)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || len(cfg.NextProtos) != 2 {
		t.Errorf("defaults: min %x alpn %v", cfg.MinVersion, cfg.NextProtos)
	}
	pick := func(name string) string {
		c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: name, SupportedVersions: []uint16{tls.VersionTLS13},
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.DNSNames[0]
	}
	if pick("b.example.com") != "b.example.com" || pick("a.example.com") != "a.example.com" || pick("other.example.com") != "a.example.com" {
		t.Error("certificate not picked by server name (or the first as default)")
	}
	next := ca.Issue(t, testenv.Leaf{Names: []string{"b.example.com"}})
	if err := s.Update("ns", "b", next.CertPEM, next.KeyPEM); err != nil {
		t.Fatal(err)
	}
	c, _ := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "b.example.com", SupportedVersions: []uint16{tls.VersionTLS13},
		SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}})
	if c.Leaf.SerialNumber.Cmp(next.TLS.Leaf.SerialNumber) != 0 {
		t.Error("the rotated certificate is not served by the same configuration")
	}
}

type deadlineConn struct {
	net.Conn
	at time.Time
}

func (c *deadlineConn) SetDeadline(t time.Time) error { c.at = t; return nil }

// frontend.tls handshakeTimeout bounds the rest of a handshake from the ClientHello on.
func TestHandshakeTimeout(t *testing.T) {
	ca := testenv.NewCA(t, "ca")
	a := ca.Issue(t, testenv.Leaf{Names: []string{"a.example.com"}})
	s := New(Options{})
	l := &gateway.Listener{Name: "https", TLS: &gateway.ListenerTLS{
		Certificates: []gateway.CertificateRef{{Namespace: "ns", Name: "a", CertPEM: a.CertPEM, KeyPEM: a.KeyPEM, InInput: true}},
		Options:      &gateway.TLSOptions{HandshakeTimeout: 2 * time.Second, MinVersion: "1.3"}}}
	s.Sync(l.TLS.Certificates)
	cfg, err := s.ServerConfig(l)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS13 {
		t.Errorf("min version %x", cfg.MinVersion)
	}
	c := &deadlineConn{}
	if _, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.example.com", Conn: c}); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(c.at); d <= 0 || d > 2*time.Second {
		t.Errorf("deadline in %v, want within 2s", d)
	}
}
