package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// blocks ("127.0.0.1/32, 10.0.0.0/8, ::1"); an empty list trusts no one.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, &proxyListError{f}
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, &proxyListError{f}
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

type proxyListError struct{ entry string }

func (e *proxyListError) Error() string {
	return "trusted proxies: " + `"` + e.entry + `"` + " is not an IP address or CIDR block (e.g. 10.0.0.0/8 or ::1)"
}

// forwardingHeaders are what a client could forge to pass for another
// address or for HTTPS.
var forwardingHeaders = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "Forwarded"}

// TrustProxies makes RemoteAddr and X-Forwarded-Proto mean the client's
// own address and scheme. A request straight from a client keeps its
// connection's address, and any forwarding headers it sent are removed: a
// client may not claim another address (to dodge login throttling) or
// HTTPS. A request from a trusted proxy gets RemoteAddr set to the client
// address in X-Forwarded-For (the rightmost one that is not itself a
// trusted proxy), and its X-Forwarded-Proto is believed.
func TrustProxies(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := addrOf(r.RemoteAddr)
		if !ok || !contains(trusted, peer) {
			for _, h := range forwardingHeaders {
				r.Header.Del(h)
			}
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // garbage: stop at the last address we could read
			}
			r.RemoteAddr = net.JoinHostPort(a.Unmap().String(), "0")
			if !contains(trusted, a.Unmap()) {
				break
			}
		}
		// A chain of proxies appends: the first value is what the outermost
		// proxy saw.
		if p := r.Header.Get("X-Forwarded-Proto"); strings.Contains(p, ",") {
			first, _, _ := strings.Cut(p, ",")
			r.Header.Set("X-Forwarded-Proto", strings.TrimSpace(first))
		}
		next.ServeHTTP(w, r)
	})
}

func addrOf(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
