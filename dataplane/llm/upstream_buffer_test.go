package llm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// pooled is echo with bodies as the Anthropic translator has them: the upstream body is new
// memory (OwnBody), the reply is written into a Buffer released by Release.
type pooled struct {
	echo
	reply *Buffer
}

func (p *pooled) RequestBody(ctx context.Context, body []byte) (*UpstreamRequest, *apierror.Error) {
	return &UpstreamRequest{Path: "/op", Body: append([]byte("up:"), body...), Model: "m", OwnBody: true}, nil
}

func (p *pooled) ResponseBody(_ context.Context, body []byte, res *Result) ([]byte, *apierror.Error) {
	p.reply = GetBuffer()
	p.reply.B = append(append(p.reply.B[:0], "reply:"...), body...)
	return p.reply.B, nil
}

func (p *pooled) Release() { p.reply.Release() }

// aliasing sends the client's body itself upstream, as the OpenAI passthrough does.
type aliasing struct{ echo }

func (a *aliasing) RequestBody(ctx context.Context, body []byte) (*UpstreamRequest, *apierror.Error) {
	return &UpstreamRequest{Path: "/op", Body: body, Model: "m"}, nil
}

// lateTransport answers at once and hands the request body to the test, which reads it later
// (as net/http's transports may still write a body after the response has come).
type lateTransport struct{ bodies chan io.ReadCloser }

func (l lateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	l.bodies <- r.Body
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"ok":1}`)), Request: r}, nil
}

// TestUpstreamBodyOutlivesHandler: an upstream body the transport reads after the handler
// returned is the request's own, byte for byte, although later requests took buffers from the
// pool meanwhile (the client's body, reused once a translator's upstream body is its own; the
// translated reply), whether the upstream body is new memory or the client's body itself.
func TestUpstreamBodyOutlivesHandler(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tr     func() Translator
		prefix string
	}{
		{"upstream body of its own", func() Translator { return &pooled{} }, "up:"},
		{"upstream body is the client's", func() Translator { return &aliasing{} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			late := lateTransport{bodies: make(chan io.ReadCloser, 1)}
			u, err := NewUpstream(UpstreamConfig{Provider: "test", BaseURL: "http://upstream.invalid/v1", Client: &http.Client{Transport: late},
				NewTranslator: tc.tr, MaxRequestBytes: 1 << 20, MaxResponseBytes: 1 << 10})
			if err != nil {
				t.Fatal(err)
			}
			serve := func(body string) {
				rec := httptest.NewRecorder()
				u.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body)))
				if rec.Code != 200 || !strings.HasSuffix(rec.Body.String(), `{"ok":1}`) {
					t.Fatalf("%d %q", rec.Code, rec.Body)
				}
			}
			first := strings.Repeat("first request's prompt ", 100)
			serve(first)
			held := <-late.bodies
			for i := range 50 {
				serve(fmt.Sprintf("request %d %s", i, strings.Repeat("x", len(first))))
				rc := <-late.bodies
				_, _ = io.Copy(io.Discard, rc)
				rc.Close()
			}
			got, err := io.ReadAll(held)
			if err != nil || string(got) != tc.prefix+first {
				t.Fatalf("the body read after the handler returned: %.60q, %v", got, err)
			}
			held.Close()
		})
	}
}

// TestUpstreamPooledBodiesConcurrent: requests at once through a real transport (loopback,
// keep-alive, the upstream echoing what it got) each get their own bodies back while the pools
// hand the same buffers from request to request (run with -race as well).
func TestUpstreamPooledBodiesConcurrent(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}))
	defer up.Close()
	u, err := NewUpstream(UpstreamConfig{Provider: "test", BaseURL: up.URL + "/v1", Client: up.Client(),
		NewTranslator: func() Translator { return &pooled{} }, MaxRequestBytes: 1 << 20, MaxResponseBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(u)
	defer gw.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				body := fmt.Sprintf("client %d request %d %s", g, i, strings.Repeat(string(rune('a'+g)), 100*(i+1)))
				resp, err := gw.Client().Post(gw.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := "reply:up:" + body; !bytes.Equal(got, []byte(want)) {
					errs <- fmt.Errorf("client %d request %d got %.60q, want %.60q", g, i, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
