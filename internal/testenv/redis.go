package testenv

import (
	"bufio"
	"net"
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

// StartRedis runs redis-server on 127.0.0.1:port (0: a free port) and waits until it answers
// PING. Stop it and call StartRedis again with the same Port to simulate an outage.
func StartRedis(t testing.TB, port int) *Redis {
	t.Helper()
	bin := Binary(t, "redis-server", "apt-get install -y redis-server")
	if port == 0 {
		port = FreePort(t)
	}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no")
	r := &Redis{Process: Start(t, cmd), Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port}
	r.WaitDial(t, r.Addr, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !ping(r.Addr) {
		if r.Exited() || time.Now().After(deadline) {
			t.Fatalf("redis-server on %s does not answer PING:\n%s", r.Addr, r.Output())
		}
		select {
		case <-r.done:
		case <-time.After(20 * time.Millisecond): // polling interval
		}
	}
	return r
}

// ping reports whether the server at addr answers PING (it listens before it can serve, e.g.
// while it loads data).
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}
