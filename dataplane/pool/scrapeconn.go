package pool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
	"github.com/infergw/gwctl/pkg/fastpath"
)

// batchScrapes: a round sends every endpoint's metrics request on its kept connection before it
// reads a reply (sendRound); GWCTL_NOFAST=scrapebatch scrapes each endpoint on a goroutine of
// its own through the pool's HTTP client, as before.
var batchScrapes = fastpath.Enabled(fastpath.ScrapeBatch)

// scrapeConn is an endpoint's kept-alive connection for its metrics requests. Whoever holds the
// endpoint's scraping lock owns it.
type scrapeConn struct {
	nc   net.Conn
	br   *bufio.Reader
	req  *http.Request // what the reply answers
	wire []byte        // req, serialised once
	stop func() bool   // undoes the endpoint's context's hold on nc
}

// scrapeRequest is the metrics request to addr, as the pool's HTTP client sends it.
func (p *Pool) scrapeRequest(addr string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, p.scheme()+"://"+addr+p.cfg.MetricsPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	return req, nil
}

// proxied reports whether the pool's HTTP client would send req through a proxy
// (HTTP_PROXY): such an endpoint is scraped through that client, as before.
func (p *Pool) proxied(req *http.Request) bool {
	if p.scrapeProxy == nil {
		return false
	}
	u, err := p.scrapeProxy(req)
	return u != nil || err != nil
}

// dialScrape connects a scrape connection to e for req. A failed connect is a *net.OpError of
// Op "dial", as through the pool's HTTP client, so e is then marked unreachable.
func (p *Pool) dialScrape(e *endpoint, req *http.Request) (*scrapeConn, error) {
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: p.cfg.Scheduler.ScrapeTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(e.ctx, "tcp", e.addr)
	if err != nil {
		return nil, err
	}
	// The endpoint leaving the pool, or the pool closing, ends a read or write under way.
	stop := context.AfterFunc(e.ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return &scrapeConn{nc: nc, br: bufio.NewReaderSize(nc, 4<<10), req: req, wire: wire.Bytes(), stop: stop}, nil
}

// closeConn closes e's scrape connection, if any; the caller holds e.scraping.
func (p *Pool) closeConn(e *endpoint) {
	if e.conn == nil {
		return
	}
	e.conn.stop()
	_ = e.conn.nc.Close()
	e.conn = nil
}

// send writes the metrics request; the reply must come by deadline.
func (c *scrapeConn) send(deadline time.Time) error {
	if err := c.nc.SetDeadline(deadline); err != nil {
		return err
	}
	_, err := c.nc.Write(c.wire)
	return err
}

// receive reads the reply to send's request. stale reports a connection the server closed
// before it answered (as when it closes idle connections): a new one may well succeed. reuse
// reports whether the connection can carry the next request.
func (c *scrapeConn) receive() (m metricsparse.Metrics, stale, reuse bool, err error) {
	if _, err := c.br.Peek(1); err != nil {
		return m, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), false, err
	}
	resp, err := http.ReadResponse(c.br, c.req)
	if err != nil {
		return m, false, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, false, false, fmt.Errorf("status %d", resp.StatusCode)
	}
	m, err = readExposition(resp.Body)
	if err != nil {
		return m, false, false, err
	}
	var one [1]byte
	n, end := resp.Body.Read(one[:])
	return m, false, n == 0 && end == io.EOF && !resp.Close, nil
}

// readExposition reads a metrics reply whole (the network's pace), then parses it under
// parseSlots (the CPU's): a pool's scrapes tick together, and eight parses at once would fill
// every core while a request's pick, or an EPP's, waits behind them.
func readExposition(body io.Reader) (metricsparse.Metrics, error) {
	buf := expositions.Get().(*bytes.Buffer)
	defer putExposition(buf)
	if _, err := buf.ReadFrom(io.LimitReader(body, maxExposition)); err != nil {
		return metricsparse.Metrics{}, err
	}
	parseSlots <- struct{}{}
	m, err := metricsparse.Parse(bytes.NewReader(buf.Bytes()))
	<-parseSlots
	return m, err
}
