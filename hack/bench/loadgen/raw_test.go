package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// sse is a streamed reply of n events ending like an OpenAI stream: a usage chunk and [DONE].
func sse(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "data: {\"choices\":[{\"delta\":{\"content\":\"word %d \"}}]}\n\n", i)
	}
	b.WriteString("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":812,\"completion_tokens\":160}}\n\ndata: [DONE]\n\n")
	return b.Bytes()
}

var streamTail = [][]byte{[]byte(`"completion_tokens"`), []byte("data: [DONE]")}

// TestLeanReplies drives net/http servers with the lean driver, three requests on one worker
// (keep-alive reuse), with a small buffer so that long bodies go through fill's compaction and
// growth, and checks both the verdict and the body tail it decoded.
func TestLeanReplies(t *testing.T) {
	long := sse(2000) // ~100 KB: several fills of a 1 KiB buffer
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		tail    [][]byte
		body    []byte // the full body the tail must end
		wantErr string
	}{{
		name: "content-length",
		handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"usage":{"completion_tokens":160}}`))
		},
		tail: [][]byte{[]byte(`"completion_tokens"`)},
		body: []byte(`{"usage":{"completion_tokens":160}}`),
	}, {
		name: "chunked, flushed per event",
		handler: func(w http.ResponseWriter, r *http.Request) {
			for _, e := range bytes.SplitAfter(long, []byte("\n\n")) {
				_, _ = w.Write(e)
				w.(http.Flusher).Flush()
			}
		},
		tail: streamTail,
		body: long,
	}, {
		name: "chunked, one write",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Transfer-Encoding", "chunked")
			_, _ = w.Write(sse(3))
			w.(http.Flusher).Flush()
		},
		tail: streamTail,
		body: sse(3),
	}, {
		name: "connection close",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			_, _ = w.Write(sse(3))
		},
		tail: streamTail,
		body: sse(3),
	}, {
		name: "status 500",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write(sse(3))
		},
		tail:    streamTail,
		wantErr: "status 500",
	}, {
		name: "stream cut before [DONE]",
		handler: func(w http.ResponseWriter, r *http.Request) {
			b := sse(3)
			_, _ = w.Write(b[:len(b)-len("data: [DONE]\n\n")])
		},
		tail:    streamTail,
		wantErr: "lack",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(`{"stream":true}`))
			l, err := NewLean(req, tc.tail...)
			if err != nil {
				t.Fatal(err)
			}
			c := &leanConn{l: &l, buf: make([]byte, 1024)}
			defer c.close()
			for i := range 3 {
				err := c.do()
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("request %d: error %v, want one with %q", i, err, tc.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				want := tc.body[max(len(tc.body)-TailBytes, 0):]
				if !bytes.Equal(c.tail, want) {
					t.Fatalf("request %d: tail %d bytes %q…, want %d bytes %q…", i, len(c.tail), c.tail[:min(len(c.tail), 60)], len(want), want[:min(len(want), 60)])
				}
			}
		})
	}
}

// TestLeanRawFraming checks framing net/http's server does not produce: chunk extensions,
// trailers, a body delimited by the connection's end, and a server that closes a keep-alive
// connection after each reply without saying so (the driver sends the request again on a new
// connection instead of counting an error).
func TestLeanRawFraming(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
	}{
		{"extensions and trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\ndata:\r\n9\r\n [DONE]\n\n\r\n0\r\nX-Trailer: 1\r\n\r\n"},
		{"until close", "HTTP/1.0 200 OK\r\n\r\ndata: [DONE]\n\n"},
		{"silent close", "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\ndata: [DONE]\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer conn.Close()
						req, err := http.ReadRequest(bufio.NewReader(conn))
						if err != nil {
							return
						}
						_, _ = io.Copy(io.Discard, req.Body)
						_, _ = io.WriteString(conn, tc.reply)
					}()
				}
			}()
			req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", strings.NewReader("{}"))
			l, err := NewLean(req, []byte("data: [DONE]"))
			if err != nil {
				t.Fatal(err)
			}
			c := &leanConn{l: &l, buf: make([]byte, 64<<10)}
			defer c.close()
			for i := range 3 {
				if err := c.do(); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if !bytes.HasSuffix(c.tail, []byte("data: [DONE]\n\n")) {
					t.Fatalf("request %d: tail %q", i, c.tail)
				}
			}
		})
	}
}

// TestRunLean checks the closed loop: requests complete and are counted, failures are errors.
func TestRunLean(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(sse(10)) }))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(sse(10)[:100]) }))
	defer bad.Close()
	for _, tc := range []struct {
		url        string
		wantOK     bool
		wantErrors bool
	}{{ok.URL, true, false}, {bad.URL, false, true}} {
		req, _ := http.NewRequest(http.MethodPost, tc.url, strings.NewReader("{}"))
		l, err := NewLean(req, streamTail...)
		if err != nil {
			t.Fatal(err)
		}
		r := RunLean(l, 2, 50*time.Millisecond)
		if (r.RPS > 0) != tc.wantOK || (r.Errors > 0) != tc.wantErrors {
			t.Errorf("%s: %.0f req/s, %d errors", tc.url, r.RPS, r.Errors)
		}
	}
}

// TestLeanNoAllocs checks that a request costs the lean driver no allocation: against a raw
// server that allocates nothing per request either (it reads the known request length and
// writes a canned chunked stream).
func TestLeanNoAllocs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", strings.NewReader(`{"stream":true}`))
	l, err := NewLean(req, streamTail...)
	if err != nil {
		t.Fatal(err)
	}
	body := sse(100)
	var reply bytes.Buffer
	reply.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
	for _, e := range bytes.SplitAfter(body, []byte("\n\n")) {
		if len(e) > 0 {
			fmt.Fprintf(&reply, "%x\r\n%s\r\n", len(e), e)
		}
	}
	reply.WriteString("0\r\n\r\n")
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		in := make([]byte, len(l.Raw))
		for {
			if _, err := io.ReadFull(conn, in); err != nil {
				return
			}
			if _, err := conn.Write(reply.Bytes()); err != nil {
				return
			}
		}
	}()
	c := &leanConn{l: &l, buf: make([]byte, 64<<10)}
	defer c.close()
	if err := c.do(); err != nil { // dials
		t.Fatal(err)
	}
	var failed error
	allocs := testing.AllocsPerRun(200, func() {
		if err := c.do(); err != nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs > 0 {
		t.Errorf("%.1f allocations per request, want 0", allocs)
	}
}

// TestLeanDeadline checks that a server that never answers fails the request at the
// connection's deadline instead of hanging the run.
func TestLeanDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.Copy(io.Discard, conn) // reads the request, never answers
	}()
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", strings.NewReader("{}"))
	l, err := NewLean(req)
	if err != nil {
		t.Fatal(err)
	}
	c := &leanConn{l: &l, buf: make([]byte, 1024), deadline: time.Now().Add(100 * time.Millisecond)}
	defer c.close()
	if err := c.do(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("error %v, want the deadline's", err)
	}
}
