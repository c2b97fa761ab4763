package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/infergw/gwctl/pkg/gateway"
)

// TLSTable says how connections on each Gateway port are served: plain HTTP, or TLS with the
// configuration of the HTTPS listener whose hostname matches the client's server name (SNI):
// exact first, then the longest wildcard, then the listener without a hostname. It is built per
// config and swapped with it (SetTLS); a certificate rotation needs no new table, since each
// listener's configuration reads its certificate from the store on every handshake.
type TLSTable struct {
	secure map[int32]*sniIndex // HTTPS listeners by port
	all    *sniIndex           // every HTTPS listener, for bindings of every port
	plain  map[int32]bool      // ports with HTTP listeners
	// anyPlain says some listener is HTTP, for bindings of every port.
	anyPlain bool
}

// sniIndex picks a listener's TLS configuration by server name.
type sniIndex struct {
	exact map[string]*tls.Config
	wild  []wildConfig // longest suffix first
	any   *tls.Config
	base  *tls.Config // handed to tls.Server: picks one of the above per ClientHello
}

type wildConfig struct {
	suffix string // ".example.com"
	cfg    *tls.Config
}

// NewTLSTable builds the table of a config's listeners; config returns an HTTPS listener's TLS
// configuration (certs.Store.ServerConfig).
func NewTLSTable(listeners []*gateway.Listener, config func(*gateway.Listener) (*tls.Config, error)) (*TLSTable, error) {
	t := &TLSTable{secure: map[int32]*sniIndex{}, plain: map[int32]bool{}}
	for _, l := range listeners {
		if l.TLS == nil {
			t.plain[l.Port] = true
			t.anyPlain = true
			continue
		}
		cfg, err := config(l)
		if err != nil {
			return nil, err
		}
		if t.secure[l.Port] == nil {
			t.secure[l.Port] = newSNIIndex()
		}
		if t.all == nil {
			t.all = newSNIIndex()
		}
		t.secure[l.Port].add(l.Hostname, cfg)
		t.all.add(l.Hostname, cfg)
	}
	for _, x := range t.secure {
		x.sort()
	}
	if t.all != nil {
		t.all.sort()
	}
	return t, nil
}

func newSNIIndex() *sniIndex {
	x := &sniIndex{exact: map[string]*tls.Config{}}
	x.base = &tls.Config{MinVersion: tls.VersionTLS12, GetConfigForClient: x.forHello}
	return x
}

// add keeps the first listener of a hostname (Compile reports a second one on the same port),
// unless a later one validates client certificates more strictly: on a binding of every port,
// listeners of several ports share a hostname, and the one that asks for client certificates
// must not be served by one that does not.
func (x *sniIndex) add(host string, cfg *tls.Config) {
	stricter := func(old *tls.Config) bool { return cfg.ClientAuth > old.ClientAuth }
	switch {
	case host == "":
		if x.any == nil || stricter(x.any) {
			x.any = cfg
		}
	case strings.HasPrefix(host, "*."):
		for i, w := range x.wild {
			if w.suffix == host[1:] {
				if stricter(w.cfg) {
					x.wild[i].cfg = cfg
				}
				return
			}
		}
		x.wild = append(x.wild, wildConfig{suffix: host[1:], cfg: cfg})
	default:
		if old := x.exact[host]; old == nil || stricter(old) {
			x.exact[host] = cfg
		}
	}
}

func (x *sniIndex) sort() {
	sort.SliceStable(x.wild, func(i, j int) bool { return len(x.wild[i].suffix) > len(x.wild[j].suffix) })
}

// lookup returns the configuration of the listener serving name (lower case, no port).
func (x *sniIndex) lookup(name string) *tls.Config {
	if c := x.exact[name]; c != nil {
		return c
	}
	for _, w := range x.wild {
		if len(name) > len(w.suffix) && strings.HasSuffix(name, w.suffix) {
			return w.cfg
		}
	}
	return x.any
}

var errNoListener = errors.New("no HTTPS listener serves this server name")

func (x *sniIndex) forHello(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	c := x.lookup(strings.ToLower(hello.ServerName))
	if c == nil {
		return nil, errNoListener
	}
	return c, nil
}

// mode is how a binding of port serves a new connection.
type connMode int

const (
	modePlain  connMode = iota
	modeSecure          // TLS with index
	modeSniff           // a binding of every port with HTTP and HTTPS listeners: look at the first byte
)

func (t *TLSTable) mode(port int32) (connMode, *sniIndex) {
	if t == nil {
		return modePlain, nil
	}
	if port != 0 {
		if x := t.secure[port]; x != nil {
			return modeSecure, x
		}
		return modePlain, nil
	}
	switch {
	case t.all == nil:
		return modePlain, nil
	case t.anyPlain:
		return modeSniff, t.all
	}
	return modeSecure, t.all
}

// misdirected reports whether a request on a TLS connection names a host that another HTTPS
// listener serves than the one its handshake chose (RFC 9110 §15.5.20): a client reusing a
// connection for a name whose listener has another certificate or options must open a new
// one, so it is answered 421.
func (t *TLSTable) misdirected(port int32, serverName, host string) bool {
	if t == nil {
		return false
	}
	x := t.all
	if port != 0 {
		x = t.secure[port]
	}
	if x == nil {
		return false
	}
	return x.lookup(strings.ToLower(serverName)) != x.lookup(host)
}

// hostOnly is a Host header's name: lower case, without port or trailing dot.
func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// SetTLS installs the TLS table of a new config: new connections use it at once.
func (s *Server) SetTLS(t *TLSTable) { s.tls.Store(t) }

// sniffTimeout bounds the wait for a new connection's first byte on a binding that serves both
// HTTP and HTTPS (as ReadHeaderTimeout bounds a request head).
const sniffTimeout = 10 * time.Second

// tlsListener turns each accepted connection into a TLS server connection when the binding's
// port serves HTTPS in the current table. On a binding of every port whose config has both
// HTTP and HTTPS listeners, the first byte decides (a TLS handshake starts with 0x16); that
// wait happens in the connection's own goroutine, never in Accept.
type tlsListener struct {
	net.Listener
	port int32
	s    *Server

	once    sync.Once
	conns   chan net.Conn
	errc    chan error
	done    chan struct{}
	closeMu sync.Once
}

func (s *Server) wrapListener(ln net.Listener, port int32) net.Listener {
	return &tlsListener{Listener: ln, port: port, s: s, conns: make(chan net.Conn), errc: make(chan error, 1), done: make(chan struct{})}
}

func (l *tlsListener) Accept() (net.Conn, error) {
	l.once.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errc:
		l.errc <- err // every later Accept fails too
		return nil, err
	}
}

// acceptLoop accepts until the listener closes, handing each connection over once its mode is
// known.
func (l *tlsListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.errc <- err
			return
		}
		mode, x := l.s.tls.Load().mode(l.port)
		switch mode {
		case modePlain:
			l.hand(c)
		case modeSecure:
			l.hand(tls.Server(c, x.base))
		case modeSniff:
			go l.sniff(c, x)
		}
	}
}

func (l *tlsListener) hand(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *tlsListener) sniff(c net.Conn, x *sniIndex) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 1)
	b, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	pc := &peekedConn{Conn: c, r: br}
	if b[0] == 0x16 { // TLS handshake record
		l.hand(tls.Server(pc, x.base))
		return
	}
	l.hand(pc)
}

func (l *tlsListener) Close() error {
	l.closeMu.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// peekedConn replays the byte read to choose the protocol.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(p)
	}
	return c.Conn.Read(p)
}
