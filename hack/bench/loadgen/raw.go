package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Lean is a request for the lean driver (RunLean): an HTTP/1.1 request rendered once, sent as
// is on keep-alive connections, and what a complete reply must end with. The lean driver costs
// a fraction of net/http's client per request (no per-request allocation; one write, and reads
// into a 64 KiB buffer, per request), so the driver, not the gateway, is less often what sets a
// stream's rate. It shares no code with the dataplane.
type Lean struct {
	Addr string // host:port
	Raw  []byte // the whole request: request line, headers, body
	// Tail lists byte strings that must each occur in the reply body's last TailBytes bytes
	// (a streamed reply's usage chunk and "data: [DONE]"); a reply without one is an error.
	Tail [][]byte
}

// TailBytes is how much of the end of a reply body Lean.Tail is looked for in.
const TailBytes = 2048

// NewLean renders req (its body must be re-readable, as http.NewRequest makes it for a
// bytes.Reader) for RunLean.
func NewLean(req *http.Request, tail ...[]byte) (Lean, error) {
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return Lean{}, err
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	return Lean{Addr: addr, Raw: b.Bytes(), Tail: tail}, nil
}

// Do sends l once on a new connection and returns the reply body's last TailBytes bytes.
func (l Lean) Do() ([]byte, error) {
	c := &leanConn{l: &l, buf: make([]byte, 64<<10), deadline: time.Now().Add(leanGrace)}
	defer c.close()
	if err := c.do(); err != nil {
		return nil, err
	}
	return bytes.Clone(c.tail), nil
}

// RunLean is Run with the lean driver: a closed loop of conc workers for d, each on its own
// keep-alive connection, timing every request to the last byte of its reply. Transport errors,
// statuses other than 200 and replies whose tail lacks l.Tail count as errors.
func RunLean(l Lean, conc int, d time.Duration) Result {
	return closedLoop(conc, d, func(deadline time.Time) (func() error, func()) {
		c := &leanConn{l: &l, buf: make([]byte, 64<<10), deadline: deadline.Add(leanGrace)}
		return c.do, c.close
	})
}

// RunLeanOn is RunLean against the server process p, adding p's CPU time and I/O system calls
// per request.
func RunLeanOn(p *Proc, l Lean, conc int, d time.Duration) Result {
	return on(p, d, func() Result { return RunLean(l, conc, d) })
}

// leanGrace is how long after a run's end a reply may still take before its connection's
// deadline fails it: a gateway that stops answering ends the run instead of hanging it.
const leanGrace = 30 * time.Second

// leanConn is one worker's connection and read buffer.
type leanConn struct {
	l        *Lean
	conn     net.Conn
	buf      []byte
	deadline time.Time // of every connection; zero: none
	// tail is the last reply's body tail (up to TailBytes; valid until the next request).
	tail []byte
	// used: the connection has carried a reply (a failure before any byte of the next one
	// means the server closed it while idle, and the request is sent again on a new one).
	used bool
}

func (c *leanConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// do sends the request and reads the reply to its end.
func (c *leanConn) do() error {
	for attempt := 0; ; attempt++ {
		if c.conn == nil {
			conn, err := net.Dial("tcp", c.l.Addr)
			if err != nil {
				return err
			}
			if !c.deadline.IsZero() {
				_ = conn.SetDeadline(c.deadline)
			}
			c.conn, c.used = conn, false
		}
		reused := c.used
		got, err := c.exchange()
		if err == nil {
			c.used = true
			return nil
		}
		c.close()
		if !reused || got > 0 || attempt > 0 {
			return err
		}
	}
}

// exchange writes the request and reads one reply; got is how many reply bytes were read.
func (c *leanConn) exchange() (got int, err error) {
	if _, err := c.conn.Write(c.l.Raw); err != nil {
		return 0, err
	}
	// Headers: read until the blank line.
	end, hdr := 0, -1
	for hdr < 0 {
		if end == len(c.buf) {
			return end, fmt.Errorf("reply headers over %d bytes", len(c.buf))
		}
		n, err := c.conn.Read(c.buf[end:])
		if n == 0 && err != nil {
			return end, err
		}
		from := max(end-3, 0)
		end += n
		if i := bytes.Index(c.buf[from:end], crlfcrlf); i >= 0 {
			hdr = from + i + 4
		}
	}
	h, err := parseHead(c.buf[:hdr])
	if err != nil {
		return end, err
	}
	// Body: decoded in place at the start of the buffer (the headers are no longer needed;
	// decoded bytes never overtake the raw bytes still to be parsed), keeping only its tail.
	b := body{buf: c.buf, p: hdr, end: end, chunked: h.chunked}
	if !h.chunked {
		b.left = h.length // -1 (no Content-Length): until the server closes
	}
	for {
		done, err := b.parse()
		if err != nil {
			return end, err
		}
		if done {
			break
		}
		if err := b.fill(c.conn); err != nil {
			if err == io.EOF && b.left == -1 && !b.chunked {
				break
			}
			return end, err
		}
	}
	c.buf = b.buf
	if b.p != b.end {
		return end, fmt.Errorf("%d bytes after the reply", b.end-b.p)
	}
	if h.close || b.left == -1 {
		c.close()
	}
	if h.status != http.StatusOK {
		return end, fmt.Errorf("status %d", h.status)
	}
	c.tail = b.buf[max(b.dst-TailBytes, 0):b.dst]
	for _, w := range c.l.Tail {
		if !bytes.Contains(c.tail, w) {
			return end, fmt.Errorf("the reply body's last %d bytes lack %q", TailBytes, w)
		}
	}
	return end, nil
}

var crlfcrlf = []byte("\r\n\r\n")

type head struct {
	status  int
	length  int // Content-Length; -1 when absent
	chunked bool
	close   bool
}

// parseHead reads the status and the framing headers of a reply head (status line, header
// lines, blank line).
func parseHead(b []byte) (head, error) {
	h := head{length: -1}
	line, rest, _ := bytes.Cut(b, []byte("\r\n"))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return h, fmt.Errorf("status line %q", line)
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return h, fmt.Errorf("status line %q", line)
		}
		h.status = 10*h.status + int(c-'0')
	}
	for len(rest) > 2 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return h, fmt.Errorf("header line %q", line)
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			h.length = 0
			for _, c := range v {
				if c < '0' || c > '9' {
					return h, fmt.Errorf("Content-Length %q", v)
				}
				h.length = 10*h.length + int(c-'0')
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			h.chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			h.close = bytes.EqualFold(v, []byte("close"))
		}
	}
	return h, nil
}

// body decodes a reply body in buf: raw bytes in [p, end) still to be parsed, decoded bytes
// in [0, dst).
type body struct {
	buf          []byte
	p, end, dst  int
	chunked      bool
	left         int  // bytes left in the current chunk (or the Content-Length body); -1: to EOF
	crlf         bool // a chunk's data is done and its CRLF is next
	last, isDone bool // the zero chunk was seen; the body is complete
}

// parse consumes what has been read and reports whether the body is complete.
func (b *body) parse() (bool, error) {
	for {
		switch {
		case b.isDone:
			return true, nil
		case b.left != 0:
			n := b.end - b.p
			if b.left > 0 {
				n = min(n, b.left)
				b.left -= n
			}
			if n == 0 {
				return false, nil
			}
			b.dst += copy(b.buf[b.dst:], b.buf[b.p:b.p+n])
			b.p += n
			if b.left == 0 {
				b.crlf = b.chunked
				b.isDone = !b.chunked
			}
		case !b.chunked:
			b.isDone = true
		case b.crlf:
			if b.end-b.p < 2 {
				return false, nil
			}
			if b.buf[b.p] != '\r' || b.buf[b.p+1] != '\n' {
				return false, errors.New("chunk data not followed by CRLF")
			}
			b.p += 2
			b.crlf = false
		default: // a chunk header, or the trailer section after the zero chunk
			i := bytes.IndexByte(b.buf[b.p:b.end], '\n')
			if i < 0 {
				return false, nil
			}
			line := bytes.TrimRight(b.buf[b.p:b.p+i], "\r")
			b.p += i + 1
			if b.last {
				b.isDone = len(line) == 0 // trailers end with an empty line
				continue
			}
			size := 0
			for _, c := range line {
				if c == ';' || c == ' ' {
					break
				}
				d := unhex(c)
				if d < 0 || size > 1<<24 {
					return false, fmt.Errorf("chunk header %q", line)
				}
				size = size<<4 | d
			}
			if size == 0 {
				b.last = true
			}
			b.left = size
		}
	}
}

// fill reads more of the body, first making room: the decoded bytes are cut to their last
// TailBytes and the unparsed ones moved after them.
func (b *body) fill(r io.Reader) error {
	if b.end == len(b.buf) {
		if b.dst > TailBytes {
			b.dst = copy(b.buf, b.buf[b.dst-TailBytes:b.dst])
		}
		n := copy(b.buf[b.dst:], b.buf[b.p:b.end])
		b.p, b.end = b.dst, b.dst+n
		if b.end == len(b.buf) {
			b.buf = append(b.buf, make([]byte, len(b.buf))...)
		}
	}
	n, err := r.Read(b.buf[b.end:])
	b.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
