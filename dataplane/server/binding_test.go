package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A binding opened after the server started serves its port's routes until its context ends,
// then closes its listener and returns.
func TestServeBinding(t *testing.T) {
	s := New(Options{ShutdownTimeout: time.Second})
	s.Swap(portEcho{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeBinding(ctx, Binding{Listener: ln, Port: 8080}) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "port 8080" {
		t.Errorf("body %q, want the binding's port", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeBinding: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeBinding did not return after its context ended")
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("the binding's listener is still open")
	}
}

type portEcho struct{}

func (portEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "port 0") }
func (portEcho) ServePort(w http.ResponseWriter, r *http.Request, port int32) {
	_, _ = io.WriteString(w, "port "+strconv.Itoa(int(port)))
}
