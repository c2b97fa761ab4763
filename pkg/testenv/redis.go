package testenv

import (
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Redis is a running redis-server on loopback without persistence.
type Redis struct {
	*Process
	Addr string
	Port int
}

// StartRedis runs redis-server on 127.0.0.1:port (0: a free port) and waits until it accepts
// connections. Stop it and call StartRedis again with the same Port to simulate an outage.
func StartRedis(t testing.TB, port int) *Redis {
	t.Helper()
	bin := Binary(t, "redis-server", "apt-get install -y redis-server")
	if port == 0 {
		port = FreePort(t)
	}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no")
	r := &Redis{Process: Start(t, cmd), Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port}
	r.WaitDial(t, r.Addr, 10*time.Second)
	return r
}
