package jwt

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/infergw/gwctl/pkg/testenv"
)

// oidcIssuer is a running oidc-provider process (testdata/issuer.mjs).
type oidcIssuer struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startIssuer runs testdata/issuer.mjs on port with key as kid, and waits until it answers discovery.
func startIssuer(t *testing.T, port int, key *rsa.PrivateKey, kid string) *oidcIssuer {
	t.Helper()
	node, mod := testenv.NodeModule(t, "oidc-provider")
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join("testdata", "issuer.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	// ES modules resolve packages from the script's directory upwards, so give it a node_modules.
	if err := os.WriteFile(filepath.Join(dir, "issuer.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(mod), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "issuer.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "KEY_FILE="+keyFile, "KID="+kid)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting oidc-provider: %v", err)
	}
	iss := &oidcIssuer{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(iss.done) }()
	t.Cleanup(iss.stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(iss.url + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return iss
			}
		}
		select {
		case <-iss.done:
			t.Fatalf("oidc-provider exited: %s", log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("oidc-provider not ready: %s", log.String())
		}
	}
}

func (i *oidcIssuer) stop() {
	if i.cmd.Process == nil {
		return
	}
	_ = i.cmd.Process.Kill()
	<-i.done
}

// token asks the issuer for an access token with client credentials.
func (i *oidcIssuer) token(t *testing.T, resource string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}
	if resource != "" {
		form.Set("resource", resource)
	}
	req, _ := http.NewRequest(http.MethodPost, i.url+"/token", strings.NewReader(form.Encode()))
	req.SetBasicAuth("test-client", "test-secret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.AccessToken == "" {
		t.Fatalf("token endpoint: %d %s", resp.StatusCode, body)
	}
	return out.AccessToken
}

func TestOIDCProviderIssuer(t *testing.T) {
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	iss := startIssuer(t, port, k1, "k1")
	a, err := New(Config{Providers: []Provider{{
		Issuer: iss.url, Audiences: []string{"gateway"}, Types: []string{"at+jwt"},
		JWKS: JWKS{URL: iss.url + "/jwks", CacheDuration: 5 * time.Minute},
	}}}, Deps{UnknownKIDInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	defer a.Close()
	h := a.Middleware(&echo{})
	status := func(tok string) int { return do(t, h, withBearer(tok)).Code }

	good := iss.token(t, "")
	if c := status(good); c != 200 {
		t.Fatalf("issuer's token: status %d", c)
	}
	now := time.Now()
	real := testKey{"k1", "RS256", k1}
	mk := func(mut func(gojwt.MapClaims), hdr map[string]any) string {
		return sign(t, real, claimsAt(now, func(c gojwt.MapClaims) {
			c["iss"] = iss.url
			if mut != nil {
				mut(c)
			}
		}), hdr)
	}
	parts := strings.Split(good, ".")
	payload, _ := json.Marshal(map[string]any{"iss": iss.url, "aud": "gateway", "sub": "admin", "exp": now.Add(time.Hour).Unix()})
	pubDER, _ := x509.MarshalPKIXPublicKey(&k1.PublicKey)
	hs := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{"iss": iss.url, "aud": "gateway", "exp": now.Add(time.Hour).Unix()})
	hs.Header["kid"], hs.Header["typ"] = "k1", "at+jwt"
	hsTok, _ := hs.SignedString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	none := gojwt.NewWithClaims(gojwt.SigningMethodNone, gojwt.MapClaims{"iss": iss.url, "aud": "gateway", "exp": now.Add(time.Hour).Unix()})
	none.Header["kid"], none.Header["typ"] = "k1", "at+jwt"
	noneTok, _ := none.SignedString(gojwt.UnsafeAllowNoneSignatureType)
	at := map[string]any{"typ": "at+jwt"}

	refused := map[string]string{
		"forged payload":  parts[0] + "." + b64(payload) + "." + parts[2],
		"wrong audience":  iss.token(t, "urn:other"),
		"expired":         mk(func(c gojwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() }, at),
		"not yet valid":   mk(func(c gojwt.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() }, at),
		"wrong issuer":    mk(func(c gojwt.MapClaims) { c["iss"] = "http://127.0.0.1:1" }, at),
		"alg none":        noneTok,
		"HS256 confusion": hsTok,
		"typ not at+jwt":  mk(nil, map[string]any{"typ": "JWT"}),
	}
	if c := status(mk(nil, at)); c != 200 {
		t.Fatalf("control token signed with the issuer's key: status %d", c)
	}
	for name, tok := range refused {
		if c := status(tok); c != 401 {
			t.Errorf("%s: status %d, want 401", name, c)
		}
	}

	// Issuer stopped: tokens from known keys keep working, also once a refresh has failed.
	spare := iss.token(t, "")
	iss.stop()
	if err := a.remotes[0].refresh(ctx, true); err == nil {
		t.Fatal("refresh succeeded with the issuer stopped")
	}
	if c := status(spare); c != 200 {
		t.Fatalf("known key after the issuer stopped: status %d", c)
	}

	// Rotation: the issuer comes back with a new signing key k2; its tokens are picked up.
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss2 := startIssuer(t, port, k2, "k2")
	rotated := iss2.token(t, "")
	if c := status(rotated); c != 200 {
		t.Fatalf("token from the rotated key: status %d", c)
	}
}
