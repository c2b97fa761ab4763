package h1_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/h1"
	"github.com/infergw/gwctl/dataplane/proxy"
)

// FuzzResponse: whatever bytes an upstream answers with (then closing the connection), h1 and
// net/http's Transport agree on whether the round trip fails (and its cause), and otherwise on
// the status, the body and whether reading it fails. Seeds: testdata/fuzz/FuzzResponse.
//
//	go test ./dataplane/h1 -run '^$' -fuzz FuzzResponse -fuzztime 1000x
func FuzzResponse(f *testing.F) {
	f.Add([]byte(okReply), false)
	f.Add([]byte(chunkedReply), false)
	f.Add([]byte("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), true)
	var reply atomic.Pointer[[]byte]
	up := newRawUpstream(f, func(int, int, *http.Request) (string, bool) { return string(*reply.Load()), true })
	std, fast := proxy.NewTransport(), h1.New(proxy.NewTransport())
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		reply.Store(&data)
		method := "GET"
		if head {
			method = "HEAD"
		}
		want, got := fuzzDo(std, up.URL(), method), fuzzDo(fast, up.URL(), method)
		std.CloseIdleConnections()
		fast.CloseIdleConnections()
		if got != want {
			t.Errorf("reply %q:\nh1       %+v\nnet/http %+v", data, got, want)
		}
	})
}

type fuzzOutcome struct {
	err, bodyErr proxy.Cause
	status       int
	body         string
}

func fuzzDo(rt http.RoundTripper, url, method string) fuzzOutcome {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, nil)
	res, err := rt.RoundTrip(req)
	if err != nil {
		return fuzzOutcome{err: proxy.Classify(ctx, err)}
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, err = io.Copy(&b, io.LimitReader(res.Body, 1<<20))
	o := fuzzOutcome{status: res.StatusCode, body: b.String()}
	if err != nil {
		o.bodyErr = proxy.Classify(ctx, err)
	}
	return o
}
