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
	ok := true
	var b [1]byte
	err := c.raw.Read(func(fd uintptr) bool {
		_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		ok = errno == syscall.EAGAIN || errno == syscall.EWOULDBLOCK
		return true
	})
	return ok && err == nil
}
