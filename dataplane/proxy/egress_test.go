package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestEgressTransportKeepsConnections: waves of concurrent requests to one provider reuse
// their connections (http.DefaultTransport would keep 2 and dial the rest again each wave),
// and the transport neither asks for compression nor ignores HTTP(S)_PROXY.
func TestEgressTransportKeepsConnections(t *testing.T) {
	const conc, waves = 16, 3
	var dials atomic.Int64
	var acceptEncoding atomic.Value
	ready := make(chan struct{})
	var arrived sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acceptEncoding.Store(r.Header.Get("Accept-Encoding"))
		arrived.Done()
		<-ready // hold every request of a wave so that all of them need a connection at once
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	tr := NewEgressTransport()
	defer tr.CloseIdleConnections()
	if tr.Proxy == nil {
		t.Error("egress transport ignores HTTP(S)_PROXY")
	}
	client := &http.Client{Transport: tr}
	for range waves {
		arrived.Add(conc)
		var done sync.WaitGroup
		for range conc {
			done.Add(1)
			go func() {
				defer done.Done()
				resp, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		arrived.Wait()
		for range conc {
			ready <- struct{}{}
		}
		done.Wait()
	}
	if n := dials.Load(); n != conc {
		t.Errorf("%d connections for %d waves of %d concurrent requests, want %d (reused)", n, waves, conc, conc)
	}
	if ae, _ := acceptEncoding.Load().(string); ae != "" {
		t.Errorf("Accept-Encoding %q sent; bodies must pass through uncompressed", ae)
	}
}
