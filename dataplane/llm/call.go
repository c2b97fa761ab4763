package llm

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
)

// directTransport returns the transport Upstream calls itself instead of going through c.Do,
// or nil when c adds something per call that the handler would lose (a total timeout, a cookie
// jar) or base carries user info (basic auth). With redirects refused, http.Client.Do adds
// only work: a copy of the request's headers for a redirect never followed, a request list,
// closures, wrapping. do keeps what it does otherwise.
func directTransport(c *http.Client, base string) http.RoundTripper {
	if c.Timeout != 0 || c.Jar != nil {
		return nil
	}
	if u, err := url.Parse(base); err != nil || u.User != nil {
		return nil
	}
	if c.Transport == nil {
		return http.DefaultTransport
	}
	return c.Transport
}

// do sends req (a POST) as u.cfg.Client.Do does with its CheckRedirect answering
// http.ErrUseLastResponse: the same response or the same error, wrapped in a *url.Error.
func (u *Upstream) do(req *http.Request) (*http.Response, error) {
	if u.rt == nil {
		return u.cfg.Client.Do(req)
	}
	fail := func(err error) error { return &url.Error{Op: "Post", URL: req.URL.String(), Err: err} }
	resp, err := u.rt.RoundTrip(req)
	if err != nil {
		if tlsErr, ok := err.(tls.RecordHeaderError); ok && string(tlsErr.RecordHeader[:]) == "HTTP/" {
			err = http.ErrSchemeMismatch
		}
		return nil, fail(err)
	}
	if resp == nil {
		return nil, fail(fmt.Errorf("http: RoundTripper implementation (%T) returned a nil *Response with a nil error", u.rt))
	}
	if resp.Body == nil {
		if resp.ContentLength > 0 {
			return nil, fail(fmt.Errorf("http: RoundTripper implementation (%T) returned a *Response with content length %d but a nil Body", u.rt, resp.ContentLength))
		}
		resp.Body = http.NoBody
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		// Client.Do reads the target before it asks CheckRedirect: one it cannot parse is an error.
		if loc := resp.Header.Get("Location"); loc != "" {
			if _, perr := req.URL.Parse(loc); perr != nil {
				resp.Body.Close()
				at := req.URL
				if resp.Request != nil {
					at = resp.Request.URL
				}
				return nil, &url.Error{Op: "Post", URL: at.String(), Err: fmt.Errorf("failed to parse Location header %q: %v", loc, perr)}
			}
		}
	}
	return resp, nil
}
