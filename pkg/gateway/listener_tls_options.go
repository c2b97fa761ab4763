package gateway

import (
	"strings"
)

// ListenerOptionPrefix is the prefix of the Gateway API listener tls.options keys the dataplane
// reads; keys of other prefixes belong to other implementations and are ignored (a warning).
const ListenerOptionPrefix = "gwctl.infergw.dev/"

// The listener tls.options keys the dataplane reads. Values are strings (the API's type).
const (
	// OptionMinVersion is the lowest TLS version accepted: "1.2" (the default) or "1.3".
	OptionMinVersion = ListenerOptionPrefix + "min-version"
	// OptionMaxVersion is the highest TLS version accepted: "1.2" or "1.3" (the default).
	OptionMaxVersion = ListenerOptionPrefix + "max-version"
	// OptionCipherSuites are the TLS 1.2 suites offered, comma-separated IANA names from Go's
	// secure list (TLS 1.3 suites are fixed in Go).
	OptionCipherSuites = ListenerOptionPrefix + "cipher-suites"
	// OptionALPN are the application protocols offered, comma-separated: h2, http/1.1.
	OptionALPN = ListenerOptionPrefix + "alpn"
)

// listenerOptions compiles an HTTPS listener's tls.options: nil when it sets none of ours, or
// when one is wrong (an error finding naming the key; the listener is then served with the
// defaults, as it would be without the key, and validate fails).
func listenerOptions(tf field) *TLSOptions {
	of := tf.get("options")
	var o TLSOptions
	set, ok := false, true
	for _, k := range sortedKeys(of.object()) {
		kf := of.get(k)
		if !strings.HasPrefix(k, ListenerOptionPrefix) {
			kf.warnf(ruleUnsupported, "tls.options %q belongs to another implementation and is not read by the dataplane (it reads %s*)", k, ListenerOptionPrefix)
			continue
		}
		set = true
		v := strings.TrimSpace(kf.str())
		switch k {
		case OptionMinVersion, OptionMaxVersion:
			if _, err := TLSVersion(v, true); err != nil || v == "" {
				kf.errorf(ruleTLS, "tls.options %s %q: want 1.2 or 1.3 (1.0 and 1.1 are refused)", k, v)
				ok = false
				continue
			}
			if k == OptionMinVersion {
				o.MinVersion = v
			} else {
				o.MaxVersion = v
			}
		case OptionCipherSuites:
			for _, s := range splitList(v) {
				id, err := CipherSuite(s)
				switch {
				case err != nil:
					kf.errorf(ruleTLS, "tls.options %s: %v", k, err)
					ok = false
				case id == 0:
					kf.warnf(ruleTLS, "tls.options %s: %s is a TLS 1.3 suite, which Go does not let a server narrow: all three are offered on TLS 1.3 connections", k, s)
				default:
					o.CipherSuites = append(o.CipherSuites, s)
				}
			}
			if len(o.CipherSuites) == 0 && ok {
				kf.errorf(ruleTLS, "tls.options %s lists no TLS 1.2 suite", k)
				ok = false
			}
		case OptionALPN:
			for _, a := range splitList(v) {
				if a != "h2" && a != "http/1.1" {
					kf.errorf(ruleTLS, "tls.options %s: protocol %q is not served (h2, http/1.1)", k, a)
					ok = false
					continue
				}
				o.ALPN = append(o.ALPN, a)
			}
			if len(o.ALPN) == 0 && ok {
				kf.errorf(ruleTLS, "tls.options %s lists no protocol", k)
				ok = false
			}
		default:
			kf.errorf(ruleTLS, "tls.options %q is not a key the dataplane knows (%s, %s, %s, %s)", k, OptionMinVersion, OptionMaxVersion, OptionCipherSuites, OptionALPN)
			ok = false
		}
	}
	if !set || !ok {
		return nil
	}
	if minV, _ := TLSVersion(o.MinVersion, true); o.MaxVersion != "" {
		if maxV, _ := TLSVersion(o.MaxVersion, false); maxV < minV {
			of.get(OptionMaxVersion).errorf(ruleTLS, "tls.options %s %s is below %s %s", OptionMaxVersion, o.MaxVersion, OptionMinVersion, o.MinVersion)
			return nil
		}
	}
	if len(o.CipherSuites) > 0 && o.MinVersion == "1.3" {
		of.get(OptionCipherSuites).warnf(ruleTLS, "tls.options %s: TLS 1.2 suites are never used with %s 1.3", OptionCipherSuites, OptionMinVersion)
	}
	return &o
}

// splitList splits a comma-separated option value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// overlay is base (a frontend.tls policy, may be nil) with the fields a listener's tls.options
// set replacing it: the listener is the narrower scope.
func overlay(base, l *TLSOptions) *TLSOptions {
	if base == nil {
		c := *l
		return &c
	}
	c := *base
	if l.MinVersion != "" {
		c.MinVersion = l.MinVersion
	}
	if l.MaxVersion != "" {
		c.MaxVersion = l.MaxVersion
	}
	if len(l.CipherSuites) > 0 {
		c.CipherSuites = l.CipherSuites
	}
	if len(l.ALPN) > 0 {
		c.ALPN = l.ALPN
	}
	return &c
}
