package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ListenerTLS is an HTTPS listener's tls section (mode Terminate).
type ListenerTLS struct {
	// Certificates are the listener's certificateRefs in order; the handshake picks the first
	// whose names cover the client's server name (SNI), else the first.
	Certificates []CertificateRef
	// Options are what the listener serves with: the frontend.tls of an AgentgatewayPolicy
	// targeting the Gateway, overlaid with ListenerOptions (nil: defaults).
	Options *TLSOptions
	// ListenerOptions are the listener's own tls.options (the gwctl.infergw.dev/ keys).
	ListenerOptions *TLSOptions `json:",omitempty"`
	// ClientValidation, when set, is the client certificate validation (mTLS) of the Gateway's
	// spec.tls.frontend for this listener's port.
	ClientValidation *ClientValidation `json:",omitempty"`
}

// CertificateRef is a kubernetes.io/tls Secret holding a certificate chain and its key.
type CertificateRef struct {
	Namespace, Name string
	// CertPEM and KeyPEM are the Secret's tls.crt and tls.key when the Secret is in the input;
	// nil when the dataplane reads it from its secrets directory (<dir>/<name>/tls.crt, tls.key)
	// or, in Kubernetes mode, from the API. The key is a secret: neither is ever serialized.
	CertPEM []byte `json:"-"`
	KeyPEM  []byte `json:"-"`
	// InInput says the Secret was in the input (CertPEM and KeyPEM are set).
	InInput bool `json:",omitempty"`
}

// ID is namespace/name.
func (r CertificateRef) ID() string { return r.Namespace + "/" + r.Name }

// TLSOptions tune a TLS endpoint, as agentgateway's frontend.tls and backend.tls spell them.
// The zero value is the safe default: TLS 1.2 minimum, Go's cipher suites and key exchanges.
type TLSOptions struct {
	MinVersion, MaxVersion string   `json:",omitempty"` // "1.2" or "1.3"
	CipherSuites           []string `json:",omitempty"` // IANA names; TLS 1.3 suites are fixed
	KeyExchangeGroups      []string `json:",omitempty"` // X25519, P-256, P-384, X25519_MLKEM768
	// ALPN are the protocols offered (default h2 and http/1.1 on listeners).
	ALPN []string `json:",omitempty"`
	// HandshakeTimeout bounds a handshake (0: the server's header timeout).
	HandshakeTimeout time.Duration `json:",omitempty"`
	Policy           NamespacedName
}

// UpstreamTLS is how the gateway speaks TLS to a backend: a BackendTLSPolicy, or the
// policies.tls of an AgentgatewayBackend or of an AgentgatewayPolicy's backend section.
type UpstreamTLS struct {
	// ServerName is sent as SNI and, without SubjectAltNames, is the name verified; "" uses
	// the host of the upstream address.
	ServerName string `json:",omitempty"`
	// CAPEM are the trusted roots (PEM, from ConfigMaps' ca.crt); System trusts the system pool.
	CAPEM  []byte `json:"-"`
	System bool   `json:",omitempty"`
	// CASources name where CAPEM came from, for logs and /configz.
	CASources []string `json:",omitempty"`
	// SubjectAltNames, when set, replace ServerName in verification: the certificate must carry
	// one of them (a DNS name, possibly a wildcard, or a URI).
	SubjectAltNames []SubjectAltName `json:",omitempty"`
	// SkipVerify is agentgateway's insecureSkipVerify: "All" (no verification) or "Hostname"
	// (chain verified, name not).
	SkipVerify string `json:",omitempty"`
	// ClientCertificate is presented to upstreams that ask for one (mTLS).
	ClientCertificate *CertificateRef `json:",omitempty"`
	// Options are ALPN, versions, suites (ALPN default: http/1.1).
	Options TLSOptions
	// Source names the policy, e.g. "BackendTLSPolicy ns/name".
	Source string
	// Invalid says why the policy cannot be applied (a CA reference that does not resolve):
	// every connection then fails verification, as the Gateway API requires (an HTTP 5xx,
	// never plaintext).
	Invalid string `json:",omitempty"`
}

// SubjectAltName is one name an upstream certificate may carry.
type SubjectAltName struct {
	Hostname string `json:",omitempty"`
	URI      string `json:",omitempty"`
}

// Certificate problems, wrapped by ParseKeyPair and CheckValidity so callers can tell them
// apart (findings, the dataplane's rotation metric). Messages never carry key material.
var (
	ErrCertMalformed   = errors.New("malformed certificate")
	ErrKeyMalformed    = errors.New("malformed private key")
	ErrKeyMismatch     = errors.New("private key does not match the certificate")
	ErrCertExpired     = errors.New("certificate expired")
	ErrCertNotYetValid = errors.New("certificate not yet valid")
)

// ParseKeyPair parses a PEM certificate chain and its private key, checking that the key
// belongs to the first certificate; the result's Leaf is set. It is what the dataplane serves
// and what Compile checks a Secret with.
func ParseKeyPair(certPEM, keyPEM []byte) (tls.Certificate, error) {
	var chain [][]byte
	rest := certPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return tls.Certificate{}, fmt.Errorf("%w: tls.crt holds no PEM CERTIFICATE block", ErrCertMalformed)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %v", ErrCertMalformed, err)
	}
	if kb, _ := pem.Decode(keyPEM); kb == nil || !strings.HasSuffix(kb.Type, "PRIVATE KEY") {
		return tls.Certificate{}, fmt.Errorf("%w: tls.key holds no PEM PRIVATE KEY block", ErrKeyMalformed)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return tls.Certificate{}, ErrKeyMismatch
		}
		// X509KeyPair's messages name the problem, never the key's bytes.
		return tls.Certificate{}, fmt.Errorf("%w: %v", ErrKeyMalformed, strings.TrimPrefix(err.Error(), "tls: "))
	}
	pair.Leaf = leaf
	return pair, nil
}

// CheckValidity reports a certificate outside its validity period at now.
func CheckValidity(leaf *x509.Certificate, now time.Time) error {
	switch {
	case now.After(leaf.NotAfter):
		return fmt.Errorf("%w on %s", ErrCertExpired, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("%w before %s", ErrCertNotYetValid, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// CertCovers reports whether a certificate serves hostname (a name or a "*.example.com"
// wildcard, as listener hostnames are written): a wildcard listener needs a wildcard name that
// covers it (a certificate for one host does not serve every host under the wildcard).
func CertCovers(leaf *x509.Certificate, hostname string) bool {
	if !strings.HasPrefix(hostname, "*.") {
		return leaf.VerifyHostname(hostname) == nil
	}
	for _, n := range leaf.DNSNames {
		// A wildcard name matches one label, so only the same wildcard covers every host the
		// listener accepts.
		if strings.EqualFold(n, hostname) {
			return true
		}
	}
	return false
}

// CertNames are the DNS names and IP addresses a certificate carries, for messages.
func CertNames(leaf *x509.Certificate) []string {
	out := append([]string(nil), leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 && leaf.Subject.CommonName != "" {
		out = append(out, "CN="+leaf.Subject.CommonName+" (not used for host names)")
	}
	return out
}

// TLSVersion maps "1.2" and "1.3" to crypto/tls versions; "" is 1.2 for a minimum (the safe
// default) and 0 (Go's maximum) for a maximum.
func TLSVersion(v string, minimum bool) (uint16, error) {
	switch v {
	case "":
		if minimum {
			return tls.VersionTLS12, nil
		}
		return 0, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("TLS version %q: want 1.2 or 1.3 (1.0 and 1.1 are refused)", v)
}

// CipherSuite maps an IANA TLS 1.2 suite name to its id among Go's secure suites; TLS 1.3
// suites (TLS13_*) are not configurable in Go and return 0.
func CipherSuite(name string) (uint16, error) {
	if strings.HasPrefix(name, "TLS13_") {
		return 0, nil
	}
	for _, s := range tls.CipherSuites() {
		if s.Name == name {
			return s.ID, nil
		}
	}
	return 0, fmt.Errorf("cipher suite %q is not one of Go's secure TLS 1.2 suites", name)
}

// CurveID maps agentgateway's key exchange group names to crypto/tls curves.
func CurveID(name string) (tls.CurveID, error) {
	switch name {
	case "X25519":
		return tls.X25519, nil
	case "P-256":
		return tls.CurveP256, nil
	case "P-384":
		return tls.CurveP384, nil
	case "X25519_MLKEM768":
		return tls.X25519MLKEM768, nil
	}
	return 0, fmt.Errorf("key exchange group %q: want X25519, P-256, P-384 or X25519_MLKEM768", name)
}
