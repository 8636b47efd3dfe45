package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/insta485/insta485/internal/server"
)

// TestTrustProxies: forwarding headers are believed only from a trusted
// proxy, and removed from anyone else; HSTS follows the scheme so decided.
func TestTrustProxies(t *testing.T) {
	trusted, err := server.ParseTrustedProxies("10.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.ParseTrustedProxies("10.0.0.0/8, proxy.example"); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
	cases := []struct {
		name, remote, xff, proto string
		wantAddr                 string
		wantHSTS                 bool
	}{
		{"direct client", "203.0.113.9:5000", "", "", "203.0.113.9:5000", false},
		{"direct client forging headers", "203.0.113.9:5000", "198.51.100.1", "https", "203.0.113.9:5000", false},
		{"trusted proxy", "10.1.2.3:80", "198.51.100.1", "https", "198.51.100.1:0", true},
		{"trusted proxy, spoofed left entries", "10.1.2.3:80", "1.1.1.1, 198.51.100.1", "http", "198.51.100.1:0", false},
		{"chain of trusted proxies", "[::1]:80", "198.51.100.1, 10.9.9.9", "https, http", "198.51.100.1:0", true},
		{"trusted proxy, garbage", "10.1.2.3:80", "not-an-ip", "", "10.1.2.3:80", false},
	}
	for _, c := range cases {
		var gotAddr string
		var gotXFF string
		h := server.TrustProxies(trusted, server.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotAddr, gotXFF = r.RemoteAddr, r.Header.Get("X-Forwarded-For")
		})))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if gotAddr != c.wantAddr {
			t.Errorf("%s: client address %q, want %q", c.name, gotAddr, c.wantAddr)
		}
		if hsts := w.Header().Get("Strict-Transport-Security") != ""; hsts != c.wantHSTS {
			t.Errorf("%s: HSTS %v, want %v", c.name, hsts, c.wantHSTS)
		}
		if c.name == "direct client forging headers" && gotXFF != "" {
			t.Errorf("%s: X-Forwarded-For reached the handler", c.name)
		}
	}
}
