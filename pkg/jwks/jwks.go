// Package jwks parses JSON Web Key Sets into public verification keys. It is the one parser of
// key sets: pkg/gateway checks inline key sets with it at compile time and the dataplane's JWT
// policy loads them with it, so a key set gwctl validate accepts is one the dataplane can use.
package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3 requires 2048).
const minRSABits = 2048

// Key is one public verification key from a JWKS.
type Key struct {
	ID  string
	Alg string // empty when the JWK does not pin one
	// Public is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Public crypto.PublicKey
}

// KeySet maps key ids to keys. It is immutable once built.
type KeySet map[string]*Key

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// Parse parses a JWKS document into its usable signing keys. Keys that cannot verify
// signatures here (encryption keys, unknown types, no kid) are skipped and reported in skipped;
// a symmetric ("oct") key or a malformed supported key is an error, as is a set with no usable key.
func Parse(data []byte) (keys KeySet, skipped []error, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("jwks: %w", err)
	}
	if doc.Keys == nil {
		return nil, nil, errors.New("jwks: no \"keys\" array")
	}
	keys = make(KeySet, len(doc.Keys))
	for i, raw := range doc.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, nil, fmt.Errorf("jwks: keys[%d]: %w", i, err)
		}
		if k.Kty == "oct" {
			return nil, nil, fmt.Errorf("jwks: keys[%d] (kid %q): symmetric (oct) keys are not accepted", i, k.Kid)
		}
		if k.Use != "" && k.Use != "sig" {
			skipped = append(skipped, fmt.Errorf("jwks: keys[%d] (kid %q): use %q is not sig", i, k.Kid, k.Use))
			continue
		}
		if k.Kid == "" {
			skipped = append(skipped, fmt.Errorf("jwks: keys[%d]: no kid", i))
			continue
		}
		pub, err := k.publicKey()
		if errors.Is(err, errUnsupported) {
			skipped = append(skipped, fmt.Errorf("jwks: keys[%d] (kid %q): %w", i, k.Kid, err))
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("jwks: keys[%d] (kid %q): %w", i, k.Kid, err)
		}
		if k.Alg != "" {
			if err := CheckKeyAlg(k.Alg, pub); err != nil {
				return nil, nil, fmt.Errorf("jwks: keys[%d] (kid %q): %w", i, k.Kid, err)
			}
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, nil, fmt.Errorf("jwks: keys[%d]: duplicate kid %q", i, k.Kid)
		}
		keys[k.Kid] = &Key{ID: k.Kid, Alg: k.Alg, Public: pub}
	}
	if len(keys) == 0 {
		return nil, skipped, errors.New("jwks: no usable signing key")
	}
	return keys, skipped, nil
}

var errUnsupported = errors.New("unsupported key type")

func (k *jwk) publicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64Int(k.N, "n")
		if err != nil {
			return nil, err
		}
		e, err := b64Int(k.E, "e")
		if err != nil {
			return nil, err
		}
		if n.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA modulus of %d bits is below %d", n.BitLen(), minRSABits)
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
			return nil, errors.New("RSA exponent out of range")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("%w: EC curve %q", errUnsupported, k.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err := b64Fixed(k.X, "x", size)
		if err != nil {
			return nil, err
		}
		y, err := b64Fixed(k.Y, "y", size)
		if err != nil {
			return nil, err
		}
		point := make([]byte, 0, 1+2*size)
		point = append(append(append(point, 4), x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("EC point: %w", err)
		}
		return pub, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("%w: OKP curve %q", errUnsupported, k.Crv)
		}
		x, err := b64Fixed(k.X, "x", ed25519.PublicKeySize)
		if err != nil {
			return nil, err
		}
		return ed25519.PublicKey(x), nil
	default:
		return nil, fmt.Errorf("%w %q", errUnsupported, k.Kty)
	}
}

func b64Int(s, field string) (*big.Int, error) {
	if s == "" {
		return nil, fmt.Errorf("missing %q", field)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", field, err)
	}
	return new(big.Int).SetBytes(b), nil
}

func b64Fixed(s, field string, size int) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", field, err)
	}
	if len(b) != size {
		return nil, fmt.Errorf("%q: %d bytes, want %d", field, len(b), size)
	}
	return b, nil
}

// CheckKeyAlg reports whether a token signed with alg may be verified with pub.
func CheckKeyAlg(alg string, pub crypto.PublicKey) error {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		if _, ok := pub.(*rsa.PublicKey); ok {
			return nil
		}
	case "ES256", "ES384", "ES512":
		if k, ok := pub.(*ecdsa.PublicKey); ok {
			want := map[string]string{"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg]
			if k.Curve.Params().Name == want {
				return nil
			}
		}
	case "EdDSA", "Ed25519":
		if _, ok := pub.(ed25519.PublicKey); ok {
			return nil
		}
	default:
		return fmt.Errorf("algorithm %q is not accepted", alg)
	}
	return fmt.Errorf("algorithm %q does not fit a %T key", alg, pub)
}
