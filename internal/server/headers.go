package server

import (
	"net/http"
	"strings"
)

// defaultCSP is the Content-Security-Policy of every answer that does not
// set its own (the site's pages do): nothing may load or run, the answer
// may not be framed, and a document opened from it (an upload, say) is
// sandboxed, so an image that is really HTML or SVG with script cannot act
// as the site.
const defaultCSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

// SecurityHeaders sets the headers every answer carries, JSON and uploads
// included: no MIME sniffing, no framing, no full URLs in Referer to other
// sites, the default CSP, and HSTS when the client reached us over HTTPS
// (TLS here, or X-Forwarded-Proto from a trusted proxy; TrustProxies must
// run first, removing the header from anyone else).
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", defaultCSP)
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
