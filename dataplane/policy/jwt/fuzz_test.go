package jwt

import (
	"context"
	"testing"
)

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":"AAAA","y":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","kid":"a","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, _, err := ParseJWKS(data)
		if err == nil && len(keys) == 0 {
			t.Fatal("no error and no keys")
		}
		for kid, k := range keys {
			if kid == "" || k.Public == nil {
				t.Fatalf("bad key %q: %+v", kid, k)
			}
		}
	})
}

func FuzzAuthenticate(f *testing.F) {
	genKeys(f)
	rs := testKey{"rs", "RS256", rsaKey}
	a, err := New(Config{Providers: []Provider{{Issuer: testIssuer, JWKS: JWKS{Inline: jwksJSON(f, rs)}}}}, Deps{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN0In0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		if _, err := a.Authenticate(context.Background(), tok); err == nil {
			t.Fatalf("fuzzed token %q accepted", tok)
		}
	})
}
