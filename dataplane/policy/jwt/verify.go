package jwt

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Claims are the verified claims of a token, as decoded from JSON. They are shared between
// requests carrying the same token: treat them as read-only.
type Claims map[string]any

// Subject is the sub claim, or "".
func (c Claims) Subject() string { s, _ := c["sub"].(string); return s }

// Issuer is the iss claim, or "".
func (c Claims) Issuer() string { s, _ := c["iss"].(string); return s }

// String returns a claim as a string: strings as they are, numbers and booleans formatted,
// anything else (absent, objects, arrays) as "", false.
func (c Claims) String(name string) (string, bool) {
	switch v := c[name].(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

type claimsKey struct{}

// ClaimsFrom returns the verified claims that the JWT middleware put in the request context.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok && c != nil
}

// WithClaims returns ctx carrying claims, as the middleware does (for tests and other authenticators).
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// verifier checks tokens for one provider.
type verifier struct {
	issuer string
	types  []string
	parser *gojwt.Parser
	keys   keySource
}

func newVerifier(p Provider, keys keySource, skew time.Duration, now func() time.Time) *verifier {
	opts := []gojwt.ParserOption{
		gojwt.WithValidMethods(allowedAlgs),
		gojwt.WithLeeway(skew),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuedAt(),
		gojwt.WithIssuer(p.Issuer),
		gojwt.WithTimeFunc(now),
	}
	if len(p.Audiences) > 0 {
		opts = append(opts, gojwt.WithAudience(p.Audiences...))
	}
	return &verifier{issuer: p.Issuer, types: p.Types, parser: gojwt.NewParser(opts...), keys: keys}
}

// verify checks signature, algorithm, iss, aud, exp, nbf and iat, and returns the claims and exp.
func (v *verifier) verify(ctx context.Context, raw string) (Claims, time.Time, error) {
	claims := gojwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(raw, claims, func(t *gojwt.Token) (any, error) {
		if err := checkCrit(t.Header); err != nil {
			return nil, err
		}
		if len(v.types) > 0 {
			typ, _ := t.Header["typ"].(string)
			if !slices.ContainsFunc(v.types, func(s string) bool { return strings.EqualFold(s, typ) }) {
				return nil, fmt.Errorf("typ %q not accepted", typ)
			}
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		k, err := v.keys.lookup(ctx, kid)
		if err != nil {
			return nil, err
		}
		alg := t.Method.Alg()
		if k.Alg != "" && k.Alg != alg {
			return nil, fmt.Errorf("token alg %s does not match key alg %s", alg, k.Alg)
		}
		if err := checkKeyAlg(alg, k.Public); err != nil {
			return nil, err
		}
		return k.Public, nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, time.Time{}, errors.New("token has no exp")
	}
	return Claims(claims), exp.Time, nil
}

// standardHeaders are the JOSE header parameters of RFC 7515 §4.1 and RFC 7516 §4.1, which crit
// must not list (RFC 7515 §4.1.11).
var standardHeaders = map[string]bool{
	"alg": true, "jku": true, "jwk": true, "kid": true, "x5u": true, "x5c": true, "x5t": true,
	"x5t#S256": true, "typ": true, "cty": true, "crit": true, "enc": true, "zip": true,
}

// checkCrit refuses a token whose header has crit (RFC 7515 §4.1.11): crit names extensions the
// recipient must understand or reject the token, and this verifier implements none (b64 and
// the like). A malformed crit (not an array, empty, non-strings, standard names) is named as such.
func checkCrit(h map[string]any) error {
	v, ok := h["crit"]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	switch {
	case !ok:
		return errors.New("crit header is not an array")
	case len(list) == 0:
		return errors.New("crit header is an empty array")
	}
	for _, e := range list {
		name, ok := e.(string)
		switch {
		case !ok:
			return errors.New("crit header lists a value that is not a string")
		case standardHeaders[name]:
			return fmt.Errorf("crit header lists the standard parameter %q", name)
		}
	}
	return fmt.Errorf("crit header requires extensions this gateway does not implement (%d)", len(list))
}

// unverifiedIssuer reads iss from the payload without verifying anything, to pick a provider.
func unverifiedIssuer(raw string) (string, error) {
	first := strings.IndexByte(raw, '.')
	if first < 0 {
		return "", errors.New("token is not a JWS")
	}
	rest := raw[first+1:]
	second := strings.IndexByte(rest, '.')
	if second < 0 {
		return "", errors.New("token is not a JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(rest[:second])
	if err != nil {
		return "", fmt.Errorf("token payload: %w", err)
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", fmt.Errorf("token payload: %w", err)
	}
	return c.Iss, nil
}
