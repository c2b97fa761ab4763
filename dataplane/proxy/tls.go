package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"slices"
	"time"
)

// NewTLSTransport returns NewTransport's tuning for an https upstream with cfg: HTTP/2 when
// cfg offers h2 or leaves ALPN to the transport (h2 and http/1.1), and a bounded handshake.
func NewTLSTransport(cfg *tls.Config) *http.Transport {
	t := NewTransport()
	t.TLSClientConfig = cfg
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ForceAttemptHTTP2 = len(cfg.NextProtos) == 0 || slices.Contains(cfg.NextProtos, "h2")
	return t
}

// TLSReason says in a few words why a TLS handshake with an upstream failed, "" when err is
// not a TLS failure. It names the kind of failure, not the certificate's content.
func TLSReason(err error) string {
	var (
		cve *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		op  *net.OpError
		rh  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &ua):
		return "certificate signed by an unknown authority"
	case errors.As(err, &he):
		return "certificate not valid for " + he.Host
	case errors.As(err, &ci):
		if ci.Reason == x509.Expired {
			return "certificate expired or not yet valid"
		}
		return "certificate invalid"
	case errors.As(err, &cve):
		return "certificate not verified: " + cve.Err.Error()
	case errors.As(err, &op) && op.Op == "remote error":
		return "the upstream refused the handshake (" + op.Err.Error() + ")"
	case errors.As(err, &rh):
		return "the upstream does not speak TLS"
	}
	return ""
}
