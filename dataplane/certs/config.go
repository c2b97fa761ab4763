package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/infergw/gwctl/pkg/gateway"
)

// DefaultALPN is what HTTPS listeners offer unless frontend.tls says otherwise.
var DefaultALPN = []string{"h2", "http/1.1"}

// ServerConfig returns an HTTPS listener's TLS configuration: TLS 1.2 at least, Go's cipher
// suites (no renegotiation: Go's server never renegotiates), h2 and http/1.1, and the
// listener's frontend.tls options. The certificate is picked on every handshake from the
// store, so a rotation applies to the next handshake: the first certificate of the listener
// whose names cover the client's server name (and whose key the client supports), else the
// first one loaded. Call Sync with the listener's certificates first.
func (s *Store) ServerConfig(l *gateway.Listener) (*tls.Config, error) {
	if l.TLS == nil {
		return nil, fmt.Errorf("listener %s is not HTTPS", l.ID())
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: DefaultALPN}
	if err := applyOptions(cfg, l.TLS.Options); err != nil {
		return nil, fmt.Errorf("listener %s: %w", l.ID(), err)
	}
	if err := clientValidation(cfg, l.TLS.ClientValidation); err != nil {
		return nil, fmt.Errorf("listener %s: %w", l.ID(), err)
	}
	var slots []*entry
	for _, r := range l.TLS.Certificates {
		if e := s.slot(r.Namespace, r.Name); e != nil {
			slots = append(slots, e)
		}
	}
	id := l.ID()
	var timeout time.Duration
	if l.TLS.Options != nil {
		timeout = l.TLS.Options.HandshakeTimeout
	}
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if timeout > 0 && hello.Conn != nil {
			// frontend.tls handshakeTimeout: the rest of the handshake, within the server's own
			// bound (its header timeout); net/http clears the deadline once the handshake is done.
			_ = hello.Conn.SetDeadline(time.Now().Add(timeout))
		}
		var first *tls.Certificate
		for _, e := range slots {
			c := e.cert.Load()
			if c == nil {
				continue
			}
			if len(slots) == 1 {
				return c, nil
			}
			if first == nil {
				first = c
			}
			if hello.SupportsCertificate(c) == nil {
				return c, nil
			}
		}
		if first == nil {
			return nil, fmt.Errorf("listener %s has no certificate loaded", id)
		}
		return first, nil
	}
	return cfg, nil
}

// clientValidation asks clients for a certificate signed by v's CAs (spec.tls.frontend):
// AllowValidOnly refuses the handshake without a verified one, AllowInsecureFallback asks and
// accepts any answer. Session tickets stay on: Go's server re-verifies a resumed session's
// chains against this listener's ClientCAs (TestFrontendClientCertificates holds it).
func clientValidation(cfg *tls.Config, v *gateway.ClientValidation) error {
	if v == nil {
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(v.CAPEM) {
		return fmt.Errorf("%s: the client CA certificates hold no PEM certificate", v.Source)
	}
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	if v.Mode == gateway.ModeAllowInsecureFallback {
		cfg.ClientAuth = tls.RequestClientCert
	}
	return nil
}

// applyOptions sets versions, suites, key exchanges and ALPN; Compile checked them.
func applyOptions(cfg *tls.Config, o *gateway.TLSOptions) error {
	if o == nil {
		return nil
	}
	var err error
	if cfg.MinVersion, err = gateway.TLSVersion(o.MinVersion, true); err != nil {
		return err
	}
	if cfg.MaxVersion, err = gateway.TLSVersion(o.MaxVersion, false); err != nil {
		return err
	}
	for _, n := range o.CipherSuites {
		id, err := gateway.CipherSuite(n)
		if err != nil {
			return err
		}
		if id != 0 {
			cfg.CipherSuites = append(cfg.CipherSuites, id)
		}
	}
	for _, n := range o.KeyExchangeGroups {
		c, err := gateway.CurveID(n)
		if err != nil {
			return err
		}
		cfg.CurvePreferences = append(cfg.CurvePreferences, c)
	}
	if len(o.ALPN) > 0 {
		cfg.NextProtos = o.ALPN
	}
	return nil
}

// ClientConfig returns the TLS configuration of calls to an upstream at address (host:port; ""
// when the caller's URL names the host):
// TLS 1.2 at least, no renegotiation, SNI u.ServerName (else the address's host name), the
// chain verified against u's roots (ConfigMaps, the system pool, or both) and the name against
// u.SubjectAltNames when set (else the server name). insecureSkipVerify All turns verification
// off, Hostname keeps the chain check only. The client certificate (mTLS) is read from the
// store on every handshake, so it rotates like a listener's.
func (s *Store) ClientConfig(u *gateway.UpstreamTLS, address string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Renegotiation: tls.RenegotiateNever}
	if err := applyOptions(cfg, &u.Options); err != nil {
		return nil, err
	}
	if len(u.Options.ALPN) == 0 {
		cfg.NextProtos = nil // the transport offers what it speaks
	}
	host := address
	if h, _, err := net.SplitHostPort(address); err == nil {
		host = h
	}
	cfg.ServerName = u.ServerName
	if cfg.ServerName == "" && host != "" {
		cfg.ServerName = strings.Trim(host, "[]")
	} // "" leaves it to http.Transport: the URL's host
	if len(u.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if u.System {
			sys, err := x509.SystemCertPool()
			if err != nil {
				return nil, fmt.Errorf("system roots: %w", err)
			}
			pool = sys
		}
		if !pool.AppendCertsFromPEM(u.CAPEM) {
			return nil, errors.New("CA certificates hold no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	switch {
	case u.SkipVerify == "All":
		cfg.InsecureSkipVerify = true
	case u.SkipVerify == "Hostname" || len(u.SubjectAltNames) > 0:
		// Go verifies the chain and the server name together; verify them apart instead.
		cfg.InsecureSkipVerify = true
		roots, sans := cfg.RootCAs, u.SubjectAltNames
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifyPeer(cs, roots, sans) }
	}
	if r := u.ClientCertificate; r != nil {
		e := s.slot(r.Namespace, r.Name)
		if e == nil {
			return nil, fmt.Errorf("client certificate Secret %s is not loaded (Sync it first)", r.ID())
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if c := e.cert.Load(); c != nil {
				return c, nil
			}
			return &tls.Certificate{}, nil // none: the upstream refuses the handshake and says so
		}
	}
	if u.Invalid != "" {
		// No root: no certificate verifies, so every call fails (502), none goes out in plaintext.
		cfg.RootCAs, cfg.InsecureSkipVerify, cfg.VerifyConnection = x509.NewCertPool(), false, nil
	}
	return cfg, nil
}

// verifyPeer checks the upstream's chain against roots (nil: the system pool) and, when sans is
// set, that the certificate carries one of them.
func verifyPeer(cs tls.ConnectionState, roots *x509.CertPool, sans []gateway.SubjectAltName) error {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return &tls.CertificateVerificationError{Err: errors.New("the upstream sent no certificate")}
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	if len(sans) == 0 {
		return nil
	}
	leaf := certs[0]
	for _, san := range sans {
		switch {
		case san.URI != "":
			for _, u := range leaf.URIs {
				if u.String() == san.URI {
					return nil
				}
			}
		case strings.HasPrefix(san.Hostname, "*."):
			for _, n := range leaf.DNSNames {
				if strings.EqualFold(n, san.Hostname) {
					return nil
				}
			}
		case leaf.VerifyHostname(san.Hostname) == nil:
			return nil
		}
	}
	var want []string
	for _, san := range sans {
		want = append(want, san.Hostname+san.URI)
	}
	return &tls.CertificateVerificationError{UnverifiedCertificates: certs,
		Err: fmt.Errorf("certificate names %s match none of the subjectAltNames %s", strings.Join(gateway.CertNames(leaf), ", "), strings.Join(want, ", "))}
}
