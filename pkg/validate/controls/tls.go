package controls

import (
	"fmt"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// ListenerTLS is how one Gateway listener serves TLS: where its certificates come from and the
// options a frontend.tls policy sets.
type ListenerTLS struct {
	Gateway  string `json:"gateway"`
	Listener string `json:"listener"`
	Port     int64  `json:"port"`
	Protocol string `json:"protocol"`
	Hostname string `json:"hostname,omitempty"`
	Status   Status `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Why      string `json:"why,omitempty"`
}

// listenerTLS reports every listener: HTTP is absent (plain text); HTTPS is implemented when
// each certificate is in the input or made by an object of it (a cert-manager Certificate, an
// ExternalSecret) and every cross-namespace reference has its grant, else partial.
func listenerTLS(s *objects.Set) []ListenerTLS {
	var out []ListenerTLS
	for _, gw := range s.Kind(objects.GatewayGroup, "Gateway") {
		opts := frontendTLSOptions(s, gw)
		for _, l := range objects.ListAt(gw.Content, "spec", "listeners") {
			lm, _ := l.(map[string]any)
			port, _ := objects.Num(lm, "port")
			lt := ListenerTLS{Gateway: gw.NS() + "/" + gw.Obj.Name, Listener: objects.Str(lm, "name"), Port: port,
				Protocol: objects.Str(lm, "protocol"), Hostname: objects.Str(lm, "hostname")}
			switch lt.Protocol {
			case "HTTPS":
				lt.Status, lt.Detail, lt.Why = httpsListener(s, gw, lm)
				for _, d := range []string{listenerOptions(lm), clientCertificates(gw, port), opts} {
					if d != "" {
						lt.Detail += "; " + d
					}
				}
			case "TLS":
				lt.Status, lt.Why = Absent, "TLS listeners (TLSRoute) are not served by the dataplane"
			default:
				lt.Status, lt.Why = Absent, "plain "+lt.Protocol
			}
			out = append(out, lt)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Gateway < out[j].Gateway })
	return out
}

func httpsListener(s *objects.Set, gw *objects.Entry, lm map[string]any) (Status, string, string) {
	if mode := objects.Str(objects.MapAt(lm, "tls"), "mode"); mode == "Passthrough" {
		return Absent, "", "tls.mode Passthrough is not served by the dataplane"
	}
	var certs, why []string
	for _, c := range objects.ListAt(lm, "tls", "certificateRefs") {
		cm, _ := c.(map[string]any)
		r := objects.ReadRef(cm, "", "Secret", gw.NS())
		name := r.NS + "/" + r.Name
		switch {
		case r.Group != "" || r.Kind != "Secret":
			why = append(why, fmt.Sprintf("certificateRef %s %s is not a Secret", r.Kind, name))
			continue
		case r.NS != gw.NS() && !objects.Granted(s, objects.GatewayGroup, "Gateway", gw.NS(), r):
			why = append(why, "no ReferenceGrant for Secret "+name)
		}
		switch p := s.SecretProducer(r.NS, r.Name); {
		case s.Get("", "Secret", r.NS, r.Name) != nil:
			certs = append(certs, "Secret "+name)
		case p != nil && p.Obj.Kind == "Certificate":
			issuer := objects.MapAt(p.Content, "spec", "issuerRef")
			certs = append(certs, fmt.Sprintf("Secret %s from cert-manager Certificate %s/%s (%s %s)", name, p.NS(), p.Obj.Name, cmpOr(objects.Str(issuer, "kind"), "Issuer"), objects.Str(issuer, "name")))
		case p != nil:
			certs = append(certs, fmt.Sprintf("Secret %s from %s %s/%s", name, p.Obj.Kind, p.NS(), p.Obj.Name))
		default:
			certs = append(certs, "Secret "+name)
			why = append(why, "Secret "+name+" is neither in the input nor made by an object of it")
		}
	}
	if len(certs) == 0 {
		return Absent, "", "no certificateRefs: nothing to serve"
	}
	detail := "terminated, TLS 1.2+, h2 and http/1.1; " + strings.Join(certs, ", ")
	if len(why) > 0 {
		return Partial, detail, strings.Join(why, "; ")
	}
	return Implemented, detail, ""
}

// frontendTLSOptions summarizes the frontend.tls of a policy targeting the Gateway.
func frontendTLSOptions(s *objects.Set, gw *objects.Entry) string {
	for _, p := range s.Kind(objects.AgentgatewayGroup, "AgentgatewayPolicy") {
		t := objects.MapAt(p.Content, "spec", "frontend", "tls")
		if t == nil || !objects.Targets(s, p, gw) {
			continue
		}
		var parts []string
		if v := objects.Str(t, "minProtocolVersion"); v != "" {
			parts = append(parts, "min TLS "+v)
		}
		if v := objects.Str(t, "maxProtocolVersion"); v != "" {
			parts = append(parts, "max TLS "+v)
		}
		if n := len(objects.ListAt(t, "cipherSuites")); n > 0 {
			parts = append(parts, fmt.Sprintf("%d cipher suites", n))
		}
		var alpn []string
		for _, a := range objects.ListAt(t, "alpnProtocols") {
			if s, ok := a.(string); ok {
				alpn = append(alpn, s)
			}
		}
		if len(alpn) > 0 {
			parts = append(parts, "ALPN "+strings.Join(alpn, ","))
		}
		return "frontend.tls of " + p.NS() + "/" + p.Obj.Name + ": " + strings.Join(parts, ", ")
	}
	return ""
}

// listenerOptions summarizes the listener's tls.options the dataplane reads.
func listenerOptions(lm map[string]any) string {
	om := objects.MapAt(lm, "tls", "options")
	var parts []string
	for _, k := range []string{gateway.OptionMinVersion, gateway.OptionMaxVersion, gateway.OptionCipherSuites, gateway.OptionALPN} {
		if v := objects.Str(om, k); v != "" {
			parts = append(parts, strings.TrimPrefix(k, gateway.ListenerOptionPrefix)+" "+v)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "tls.options " + strings.Join(parts, ", ")
}

// clientCertificates summarizes the Gateway's spec.tls.frontend for a listener's port.
func clientCertificates(gw *objects.Entry, port int64) string {
	fm := objects.MapAt(gw.Content, "spec", "tls", "frontend")
	if fm == nil {
		return ""
	}
	v, where := objects.MapAt(fm, "default", "validation"), "default"
	for _, pp := range objects.ListAt(fm, "perPort") {
		pm, _ := pp.(map[string]any)
		if n, _ := objects.Num(pm, "port"); n == port {
			v, where = objects.MapAt(pm, "tls", "validation"), "perPort"
		}
	}
	if v == nil {
		return ""
	}
	var cas []string
	for _, r := range objects.ListAt(v, "caCertificateRefs") {
		rm, _ := r.(map[string]any)
		ref := objects.ReadRef(rm, "", "", gw.NS())
		cas = append(cas, ref.Kind+" "+ref.NS+"/"+ref.Name)
	}
	if objects.Str(v, "mode") == gateway.ModeAllowInsecureFallback {
		return "client certificates asked for, not required (spec.tls.frontend." + where + ", AllowInsecureFallback)"
	}
	return "client certificates required, signed by " + strings.Join(cas, ", ") + " (spec.tls.frontend." + where + ")"
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// writeListenersMarkdown renders the listener table.
func writeListenersMarkdown(b *strings.Builder, ls []ListenerTLS) {
	if len(ls) == 0 {
		return
	}
	b.WriteString("\n| Gateway | Listener | Port | Hostname | TLS |\n|---|---|---|---|---|\n")
	for _, l := range ls {
		cell := "**" + string(l.Status) + "**"
		if l.Detail != "" {
			cell += ": " + l.Detail
		}
		if l.Why != "" {
			cell += " — " + l.Why
		}
		host := l.Hostname
		if host == "" {
			host = "(any)"
		}
		fmt.Fprintf(b, "| %s | %s | %d %s | %s | %s |\n", l.Gateway, l.Listener, l.Port, l.Protocol, host, strings.ReplaceAll(cell, "|", "\\|"))
	}
}
