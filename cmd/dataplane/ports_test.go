package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
)

// Issue #15: --admin binds every interface and served /configz without a login. The debug
// address is loopback by default, and the binary serves /configz there and only there.
func TestDebugAddressIsLoopbackByDefault(t *testing.T) {
	var o options
	fs := newFlags(&o, &bytes.Buffer{})
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(o.debug)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		t.Fatalf("default --debug-addr %q is not a loopback address", o.debug)
	}
	if o.admin == o.debug {
		t.Fatal("admin and debug share an address")
	}
}

func TestConfigzOnlyOnTheDebugAddress(t *testing.T) {
	logs := &testenv.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", "testdata/valid.yaml", "--resolve", "a.default=127.0.0.1:1",
			"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--debug-addr", "127.0.0.1:0"},
			nil, logs, logs, func(string) string { return "" })
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d:\n%s", code, logs)
		}
	})
	addrs := map[string]string{} // log message → listen address
	deadline := time.Now().Add(10 * time.Second)
	for addrs["admin"] == "" || addrs["debug"] == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no admin and debug addresses logged:\n%s", logs)
		}
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, Listen string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Listen != "" {
				addrs[rec.Msg] = rec.Listen
			}
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
	for _, tc := range []struct {
		addr, path string
		status     int
	}{
		{addrs["debug"], "/configz", 200},
		{addrs["admin"], "/configz", 404},
		{addrs["admin"], "/metrics", 200},
		{addrs["admin"], "/readyz", 200},
		{addrs["debug"], "/metrics", 404},
	} {
		resp, err := http.Get("http://" + tc.addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s%s = %d, want %d", tc.addr, tc.path, resp.StatusCode, tc.status)
		}
	}
	if strings.Contains(logs.String(), "not loopback") {
		t.Errorf("warned about a loopback debug address:\n%s", logs)
	}
}
