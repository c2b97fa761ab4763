package jwt

import (
	"crypto"

	"github.com/infergw/gwctl/pkg/jwks"
)

// Key is one public verification key from a JWKS.
type Key = jwks.Key

// KeySet maps key ids to keys. It is immutable once built.
type KeySet = jwks.KeySet

// ParseJWKS parses a JWKS document with pkg/jwks, the parser gwctl validate checks inline key
// sets with: see jwks.Parse.
func ParseJWKS(data []byte) (keys KeySet, skipped []error, err error) { return jwks.Parse(data) }

// allowedAlgs are the asymmetric JWS algorithms accepted; none and HS* never are.
var allowedAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// checkKeyAlg reports whether a token signed with alg may be verified with pub.
func checkKeyAlg(alg string, pub crypto.PublicKey) error { return jwks.CheckKeyAlg(alg, pub) }
