package llm

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// cannedTransport answers every call with what the case says.
type cannedTransport struct {
	resp func(*http.Request) *http.Response
	err  error
}

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	var resp *http.Response
	if c.resp != nil {
		resp = c.resp(r)
	}
	return resp, c.err
}

// canned answers status with h and body (nil: a nil Body) of the declared length.
func canned(status int, h http.Header, body *string, length int64) func(*http.Request) *http.Response {
	return func(r *http.Request) *http.Response {
		if h == nil {
			h = http.Header{}
		}
		var rc io.ReadCloser
		if body != nil {
			rc = io.NopCloser(strings.NewReader(*body))
		}
		return &http.Response{StatusCode: status, Header: h, Body: rc, ContentLength: length, Request: r}
	}
}

// outcome is what a call gave: status and body, or the error's text.
func outcome(resp *http.Response, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %q", resp.StatusCode, b)
}

// TestDirectCallMatchesClient: the Upstream's direct call to its transport gives what
// http.Client.Do with redirects refused gives (the response, or the same error text), for
// replies, redirects with and without a target (one that does not parse included) and
// transport failures.
func TestDirectCallMatchesClient(t *testing.T) {
	body := func(s string) *string { return &s }
	for _, tc := range []struct {
		name string
		rt   cannedTransport
	}{
		{"ok", cannedTransport{resp: canned(200, nil, body(`{"a":1}`), 7)}},
		{"error status", cannedTransport{resp: canned(429, nil, body(`slow down`), -1)}},
		{"redirect", cannedTransport{resp: canned(302, http.Header{"Location": {"/elsewhere"}}, body(""), 0)}},
		{"redirect without a target", cannedTransport{resp: canned(307, nil, body("x"), 1)}},
		{"redirect to a target that does not parse", cannedTransport{resp: canned(308, http.Header{"Location": {"http://[::1"}}, body(""), 0)}},
		{"see other, bad target", cannedTransport{resp: canned(303, http.Header{"Location": {"%zz"}}, body(""), 0)}},
		{"transport error", cannedTransport{err: errors.New("connection refused")}},
		{"plain http answer to TLS", cannedTransport{err: tls.RecordHeaderError{RecordHeader: [5]byte{'H', 'T', 'T', 'P', '/'}}}},
		{"no response, no error", cannedTransport{}},
		{"no body", cannedTransport{resp: canned(200, nil, nil, 0)}},
		{"no body but a length", cannedTransport{resp: canned(200, nil, nil, 5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[bool]string{}
			for _, direct := range []bool{true, false} {
				u, err := NewUpstream(UpstreamConfig{Provider: "test", BaseURL: "http://up.test/v1", Client: &http.Client{Transport: tc.rt},
					NewTranslator: func() Translator { return &echo{} }, MaxRequestBytes: 64, MaxResponseBytes: 64})
				if err != nil {
					t.Fatal(err)
				}
				if u.rt == nil {
					t.Fatal("a plain client is not called directly")
				}
				if !direct {
					u.rt = nil
				}
				req, err := http.NewRequest(http.MethodPost, "http://up.test/v1/op", strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				got[direct] = outcome(u.do(req))
			}
			if got[true] != got[false] {
				t.Errorf("direct: %s\nclient: %s", got[true], got[false])
			}
		})
	}
}

// TestDirectTransport: a client that adds something per call (a total timeout, cookies) or a
// base URL with user info keeps http.Client.Do.
func TestDirectTransport(t *testing.T) {
	rt := cannedTransport{}
	for _, tc := range []struct {
		name   string
		c      *http.Client
		base   string
		direct bool
	}{
		{"plain", &http.Client{Transport: rt}, "http://up.test/v1", true},
		{"default transport", &http.Client{}, "http://up.test/v1", true},
		{"timeout", &http.Client{Transport: rt, Timeout: 1}, "http://up.test/v1", false},
		{"user info", &http.Client{Transport: rt}, "http://user:pw@up.test/v1", false},
	} {
		if got := directTransport(tc.c, tc.base) != nil; got != tc.direct {
			t.Errorf("%s: direct %v, want %v", tc.name, got, tc.direct)
		}
	}
}
