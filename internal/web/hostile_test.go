package web_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/insta485/insta485/internal/testenv"
)

// hostileValues are what an attacker or a broken client puts in every
// field, path segment and query parameter.
var hostileValues = []string{
	"' OR '1'='1", "1; DROP TABLE users; --", "awdeorio' --",
	strings.Repeat("x", 1<<20), // 1 MB
	"a\x00b", "\xff\xfe\xfd", "\u202egnp.exe", "שלום", "😀🎉👍", "",
	"-1", "0", "9223372036854775808", "99999999999999999999", "1e3", "abc",
	"../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "<script>alert(1)</script>",
}

// legitimateText is hostile-looking text a person may really write: where
// a field takes free text, it must be stored as it is (2xx or 3xx).
func legitimateText(v string) bool {
	switch v {
	case "\u202egnp.exe", "שלום", "😀🎉👍", "' OR '1'='1", "1; DROP TABLE users; --", "<script>alert(1)</script>",
		"../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "awdeorio' --", "-1", "0", "abc", "1e3",
		"9223372036854775808", "99999999999999999999":
		return true
	}
	return false
}

// hostileRequest is one request of the table.
type hostileRequest struct {
	name   string
	method string
	path   string
	ctype  string
	body   []byte
	// text says the request carries v as free text a user may write, so
	// a 2xx or 3xx is right when v is legitimate text.
	text bool
	// valid says the request is right whatever v is.
	valid bool
}

// hostileRequests builds every route and method with v in each place a
// client controls. Forms carry csrf (a valid token, so that the request
// reaches the checks behind it).
func hostileRequests(v, csrf string) []hostileRequest {
	seg := url.PathEscape(v)
	q := url.QueryEscape(v)
	form := func(fields ...string) (string, []byte) {
		vals := url.Values{"csrf_token": {csrf}}
		for i := 0; i+1 < len(fields); i += 2 {
			vals.Set(fields[i], fields[i+1])
		}
		return "application/x-www-form-urlencoded", []byte(vals.Encode())
	}
	var out []hostileRequest
	add := func(name, method, path string, text bool, ctype string, body []byte) {
		out = append(out, hostileRequest{name, method, path, ctype, body, text, false})
	}
	for _, p := range []string{"/users/" + seg + "/", "/users/" + seg + "/followers/", "/users/" + seg + "/following/",
		"/posts/" + seg + "/", "/uploads/" + seg, "/static/" + seg, "/explore/?x=" + q, "/?target=" + q,
		"/api/v1/posts/" + seg + "/", "/api/v1/posts/?size=" + q, "/api/v1/posts/?page=" + q, "/api/v1/posts/?postid_lte=" + q,
		"/api/v1/comments/?postid=" + q, "/" + seg, "/api/v1/" + seg} {
		add("GET "+p, http.MethodGet, p, false, "", nil)
	}
	ct, b := form("operation", "login", "username", v, "password", v)
	add("login", http.MethodPost, "/accounts/?target="+q, false, ct, b)
	ct, b = form("operation", "create", "username", v, "fullname", v, "email", v, "password", v)
	add("sign up", http.MethodPost, "/accounts/", false, ct, b)
	ct, b = form("operation", "edit_account", "fullname", v, "email", v)
	add("edit account", http.MethodPost, "/accounts/?target="+q, true, ct, b)
	ct, b = form("operation", "update_password", "password", v, "new_password1", v, "new_password2", v)
	add("update password", http.MethodPost, "/accounts/", false, ct, b)
	ct, b = form("operation", v)
	add("accounts operation", http.MethodPost, "/accounts/", false, ct, b)
	ct, b = form("operation", "like", "postid", v)
	add("like", http.MethodPost, "/likes/?target="+q, false, ct, b)
	ct, b = form("operation", "unlike", "postid", v)
	add("unlike", http.MethodPost, "/likes/", false, ct, b)
	ct, b = form("operation", "create", "postid", "1", "text", v)
	add("comment", http.MethodPost, "/comments/?target="+q, true, ct, b)
	ct, b = form("operation", "delete", "commentid", v)
	add("delete comment", http.MethodPost, "/comments/", false, ct, b)
	ct, b = form("operation", "delete", "postid", v)
	add("delete post", http.MethodPost, "/posts/", false, ct, b)
	ct, b = form("operation", "follow", "username", v)
	add("follow", http.MethodPost, "/following/", false, ct, b)
	ct, b = form("operation", "unfollow", "username", v)
	add("unfollow", http.MethodPost, "/following/", false, ct, b)
	add("like JSON body", http.MethodPost, "/likes/", false, "application/json", []byte(`{"operation":"like","postid":`+fmt.Sprintf("%q", v)+`}`))
	add("truncated multipart", http.MethodPost, "/posts/", false, "multipart/form-data; boundary=B",
		[]byte("--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"+csrf+"\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\""+v+"\"\r\n\r\n\x89PNG"))
	add("multipart without boundary", http.MethodPost, "/comments/", false, "multipart/form-data", []byte(v))
	add("API like", http.MethodPost, "/api/v1/likes/?postid="+q, false, "", nil)
	add("API unlike", http.MethodDelete, "/api/v1/likes/"+seg+"/", false, "", nil)
	// JSON decoding turns invalid UTF-8 into U+FFFD, so such text is
	// stored as replacement characters, like any other text.
	add("API comment", http.MethodPost, "/api/v1/comments/?postid=1", true, "application/json", []byte(`{"text": `+jsonString(v)+`}`))
	if !utf8.ValidString(v) && !strings.ContainsRune(v, 0) {
		out[len(out)-1].valid = true
	}
	add("API comment on post", http.MethodPost, "/api/v1/comments/?postid="+q, false, "application/json", []byte(`{"text": "hi"}`))
	for _, notObject := range []string{`[]`, `"x"`, `null`, `{"text": 5}`, `{`, v} {
		add("API comment body "+notObject[:min(len(notObject), 10)], http.MethodPost, "/api/v1/comments/?postid=1", false, "application/json", []byte(notObject))
	}
	// The API reads the body as JSON whatever the content type says.
	out = append(out, hostileRequest{"API comment as text/plain", http.MethodPost, "/api/v1/comments/?postid=1", "text/plain", []byte(`{"text": "plain"}`), true, true})
	add("API delete comment", http.MethodDelete, "/api/v1/comments/"+seg+"/", false, "", nil)
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		add(m+" /", m, "/", false, "", nil)
		add(m+" /accounts/", m, "/accounts/", false, "", nil)
		add(m+" /api/v1/posts/", m, "/api/v1/posts/", false, "application/json", []byte(v))
	}
	return out
}

// jsonString encodes s as a JSON string without Go's HTML escaping and
// keeping invalid UTF-8 bytes raw, as a broken client might send them.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestHostileInput sends every route and method hostile values, logged in
// (cookie, and Basic for the API) and not. Every answer is a deliberate
// 4xx, or a 2xx/3xx where the value is text a person may write; never a
// 5xx. A refused request changes no row and no file.
func TestHostileInput(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		visitor := newClient(t, app)
		member := loggedIn(t, app, "jflinn")
		csrf := member.token()
		before := snapshot(t, app)
		for i, v := range hostileValues {
			for _, who := range []struct {
				name  string
				c     *client
				basic bool
			}{{"visitor", visitor, false}, {"member", member, false}, {"basic", visitor, true}} {
				for _, hr := range hostileRequests(v, csrf) {
					// Basic checks the password on every call (argon2id): a
					// sample of the values keeps the run short.
					if who.basic && (!strings.HasPrefix(hr.path, "/api/") || i%4 != 0) {
						continue
					}
					req, err := http.NewRequest(hr.method, app.URL+hr.path, bytes.NewReader(hr.body))
					if err != nil {
						continue // not expressible as a request: nothing to send
					}
					if hr.ctype != "" {
						req.Header.Set("Content-Type", hr.ctype)
					}
					if who.basic {
						req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("jflinn:password")))
					}
					res, err := who.c.http.Do(req)
					if err != nil {
						t.Fatalf("%s %q as %s: %v", hr.name, trim(v), who.name, err)
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					label := fmt.Sprintf("%s with %q as %s", hr.name, trim(v), who.name)
					switch {
					case res.StatusCode >= 500:
						t.Errorf("%s = %d, want a 4xx", label, res.StatusCode)
					case res.StatusCode >= 400:
						if hr.method == http.MethodGet {
							break // reads change nothing; TestCrawl and others check that
						}
						if after := snapshot(t, app); after != before {
							t.Fatalf("%s was refused (%d) but changed the database or the uploads", label, res.StatusCode)
						}
					default:
						// Accepted: only legitimate text, or a read.
						if hr.method != http.MethodGet && !hr.valid && !(hr.text && legitimateText(v)) {
							t.Errorf("%s = %d, want it refused", label, res.StatusCode)
						}
						before = snapshot(t, app)
					}
				}
			}
		}
	})
}

func trim(v string) string {
	if len(v) > 24 {
		return v[:24] + "…"
	}
	return v
}

// TestSecurityHeaders: every answer, pages, JSON, uploads, static files,
// errors and redirects alike, forbids MIME sniffing and framing and keeps
// full URLs out of Referer; uploads are sandboxed; HSTS is sent only over
// HTTPS, which a client may not claim by itself (X-Forwarded-Proto from a
// proxy that is not trusted is ignored).
func TestSecurityHeaders(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "awdeorio")
		for _, p := range []string{"/", "/accounts/login/", "/api/v1/", "/api/v1/posts/", "/api/v1/nothing/",
			"/uploads/" + post1Image, "/static/style.css", "/no/such/page/", "/posts/999/"} {
			res := c.get(p)
			h := res.Header
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" ||
				h.Get("Referrer-Policy") == "" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("GET %s (%d) lacks security headers: %v", p, res.Status, h)
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Errorf("GET %s over plain HTTP sent HSTS", p)
			}
		}
		if csp := c.get("/uploads/" + post1Image).Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("upload CSP = %q, want default-src 'none' and sandbox", csp)
		}
		req, _ := http.NewRequest("GET", app.URL+"/api/v1/", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		if res := c.do(req); res.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS sent because an untrusted client claimed https")
		}
	})
}

// TestPagesCarryTheirLength: a page is rendered whole before it is sent, so
// it goes out with a Content-Length equal to its body, not chunked.
func TestPagesCarryTheirLength(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "awdeorio")
		for _, p := range []string{"/", "/users/awdeorio/", "/posts/1/", "/explore/", "/no/such/page/"} {
			res := c.get(p)
			if got, want := res.Header.Get("Content-Length"), strconv.Itoa(len(res.Body)); got != want {
				t.Errorf("GET %s (%d): Content-Length %q, body %s bytes", p, res.Status, got, want)
			}
		}
	})
}
