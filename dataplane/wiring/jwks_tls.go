package wiring

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/pkg/gateway"
)

// jwksClient is the HTTP client of a policy's remote key sets: nil (the default) when none is
// fetched over TLS, else one that calls each https key set's host with its TLS policy. sig
// stands for those policies, so an unchanged one keeps the authenticator across reloads.
func (in *Installer) jwksClient(j *gateway.JWTAuthentication) (*http.Client, string, error) {
	byHost := map[string]http.RoundTripper{}
	var sig []string
	for _, pr := range j.Providers {
		if pr.JWKSTLS == nil {
			continue
		}
		u, err := url.Parse(pr.JWKSURL)
		if err != nil {
			return nil, "", err
		}
		cfg, err := in.d.ClientTLS(pr.JWKSTLS, u.Host)
		if err != nil {
			return nil, "", err
		}
		t := proxy.NewTLSTransport(cfg)
		t.MaxIdleConnsPerHost = 2
		byHost[u.Host] = t
		c := pr.JWKSTLS
		sig = append(sig, fmt.Sprintf("%s|%s|%v|%s|%s|%v", u.Host, c.ServerName, c.CASources, c.SkipVerify, c.Source, c.SubjectAltNames))
	}
	if len(byHost) == 0 {
		return nil, "", nil
	}
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		if t := byHost[r.URL.Host]; t != nil && r.URL.Scheme == "https" {
			return t.RoundTrip(r)
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	return &http.Client{Timeout: 5 * time.Second, Transport: rt}, strings.Join(sig, ";"), nil
}
