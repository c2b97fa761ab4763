package validate

import (
	"fmt"
	"sort"
	"strings"
)

// ListenerTLS is how one Gateway listener serves TLS: where its certificates come from and the
// options a frontend.tls policy sets.
type ListenerTLS struct {
	Gateway  string        `json:"gateway"`
	Listener string        `json:"listener"`
	Port     int64         `json:"port"`
	Protocol string        `json:"protocol"`
	Hostname string        `json:"hostname,omitempty"`
	Status   ControlStatus `json:"status"`
	Detail   string        `json:"detail,omitempty"`
	Why      string        `json:"why,omitempty"`
}

// listenerTLS reports every listener: HTTP is absent (plain text); HTTPS is implemented when
// each certificate is in the input or made by an object of it (a cert-manager Certificate, an
// ExternalSecret) and every cross-namespace reference has its grant, else partial.
func listenerTLS(s *objectSet) []ListenerTLS {
	var out []ListenerTLS
	for _, gw := range s.kind(gatewayGroup, "Gateway") {
		opts := frontendTLSOptions(s, gw)
		for _, l := range listAt(gw.content, "spec", "listeners") {
			lm, _ := l.(map[string]any)
			port, _ := num(lm, "port")
			lt := ListenerTLS{Gateway: gw.ns() + "/" + gw.obj.Name, Listener: str(lm, "name"), Port: port,
				Protocol: str(lm, "protocol"), Hostname: str(lm, "hostname")}
			switch lt.Protocol {
			case "HTTPS":
				lt.Status, lt.Detail, lt.Why = httpsListener(s, gw, lm)
				if opts != "" {
					lt.Detail += "; " + opts
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

func httpsListener(s *objectSet, gw *entry, lm map[string]any) (ControlStatus, string, string) {
	if mode := str(mapAt(lm, "tls"), "mode"); mode == "Passthrough" {
		return Absent, "", "tls.mode Passthrough is not served by the dataplane"
	}
	var certs, why []string
	for _, c := range listAt(lm, "tls", "certificateRefs") {
		cm, _ := c.(map[string]any)
		r := readRef(cm, "", "Secret", gw.ns())
		name := r.ns + "/" + r.name
		switch {
		case r.group != "" || r.kind != "Secret":
			why = append(why, fmt.Sprintf("certificateRef %s %s is not a Secret", r.kind, name))
			continue
		case r.ns != gw.ns() && !granted(s, gatewayGroup, "Gateway", gw.ns(), r):
			why = append(why, "no ReferenceGrant for Secret "+name)
		}
		switch p := s.secretProducer(r.ns, r.name); {
		case s.get("", "Secret", r.ns, r.name) != nil:
			certs = append(certs, "Secret "+name)
		case p != nil && p.obj.Kind == "Certificate":
			issuer := mapAt(p.content, "spec", "issuerRef")
			certs = append(certs, fmt.Sprintf("Secret %s from cert-manager Certificate %s/%s (%s %s)", name, p.ns(), p.obj.Name, cmpOr(str(issuer, "kind"), "Issuer"), str(issuer, "name")))
		case p != nil:
			certs = append(certs, fmt.Sprintf("Secret %s from %s %s/%s", name, p.obj.Kind, p.ns(), p.obj.Name))
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
func frontendTLSOptions(s *objectSet, gw *entry) string {
	for _, p := range s.kind(agentgatewayGroup, "AgentgatewayPolicy") {
		t := mapAt(p.content, "spec", "frontend", "tls")
		if t == nil || !targets(s, p, gw) {
			continue
		}
		var parts []string
		if v := str(t, "minProtocolVersion"); v != "" {
			parts = append(parts, "min TLS "+v)
		}
		if v := str(t, "maxProtocolVersion"); v != "" {
			parts = append(parts, "max TLS "+v)
		}
		if n := len(listAt(t, "cipherSuites")); n > 0 {
			parts = append(parts, fmt.Sprintf("%d cipher suites", n))
		}
		var alpn []string
		for _, a := range listAt(t, "alpnProtocols") {
			if s, ok := a.(string); ok {
				alpn = append(alpn, s)
			}
		}
		if len(alpn) > 0 {
			parts = append(parts, "ALPN "+strings.Join(alpn, ","))
		}
		return "frontend.tls of " + p.ns() + "/" + p.obj.Name + ": " + strings.Join(parts, ", ")
	}
	return ""
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
