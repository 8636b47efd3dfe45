package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Unavailable answers 503 with Retry-After: the database cannot be reached
// right now, or the server is saturated. It is never a logout: the session
// cookie is left alone, and /accounts/auth/ answers it too, so a front
// proxy asking there tells an outage from a visitor. API paths get the
// JSON error body, everything else a friendly page.
func Unavailable(w http.ResponseWriter, r *http.Request) {
	SetRetryAfter(w)
	w.Header().Set("Cache-Control", "no-store")
	if len(r.URL.Path) >= 8 && r.URL.Path[:8] == "/api/v1/" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"message": "Service Unavailable", "status_code": 503}`+"\n")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", plainPageCSP)
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Back in a moment · insta485</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<h1>Back in a moment</h1>
<p>insta485 cannot reach its database right now. You are still logged in. Please try again in a few seconds.</p>
<p><a href="%s">Try again</a></p></body></html>
`, "/")
}

// plainPageCSP is the policy of the server's own pages (errors, outages):
// nothing but their inline styles.
const plainPageCSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// SetRetryAfter tells the client of a 503 to try again after RetryAfter.
func SetRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
}
