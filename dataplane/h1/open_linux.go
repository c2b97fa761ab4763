package h1

import (
	"syscall"
	"unsafe"
)

// open reports whether an idle connection can be used: the server has not closed it (EOF),
// reset it or sent anything unasked (a 408, garbage). One non-blocking peek at the socket.
func (c *conn) open() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	if c.peekFn == nil {
		c.peekFn = c.peek // bound once: a method value allocates
	}
	c.peekOK = false
	return c.raw.Read(c.peekFn) == nil && c.peekOK
}

// peek is the RawConn.Read callback of open: nothing to read yet (EAGAIN) is the one good answer.
func (c *conn) peek(fd uintptr) bool {
	var b [1]byte
	_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	c.peekOK = errno == syscall.EAGAIN || errno == syscall.EWOULDBLOCK
	return true
}
