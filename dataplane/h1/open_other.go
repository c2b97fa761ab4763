//go:build !linux

package h1

// open reports whether an idle connection can be used; without a non-blocking peek, a
// connection the server closed is found when the request fails (and retried if it can be).
func (c *conn) open() bool { return c.br.Buffered() == 0 }
