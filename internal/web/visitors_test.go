package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/testenv"
)

// TestVisitors checks what someone who is not logged in gets: the login
// page for every page, 403 for every form action and upload.
func TestVisitors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		status       int
		location     string
	}{
		{"GET", "/", 302, "/accounts/login/"},
		{"GET", "/explore/", 302, "/accounts/login/"},
		{"GET", "/users/awdeorio/", 302, "/accounts/login/"},
		{"GET", "/users/nobody/", 302, "/accounts/login/"},
		{"GET", "/users/awdeorio/followers/", 302, "/accounts/login/"},
		{"GET", "/users/awdeorio/following/", 302, "/accounts/login/"},
		{"GET", "/posts/1/", 302, "/accounts/login/"},
		{"GET", "/posts/abc/", 302, "/accounts/login/"},
		{"GET", "/accounts/edit/", 302, "/accounts/login/"},
		{"GET", "/accounts/password/", 302, "/accounts/login/"},
		{"GET", "/accounts/delete/", 302, "/accounts/login/"},
		{"GET", "/accounts/login/", 200, ""},
		{"GET", "/accounts/create/", 200, ""},
		{"GET", "/accounts/auth/", 403, ""},
		{"GET", "/uploads/" + awdeorioPhoto, 403, ""},
		{"GET", "/uploads/00000000000000000000000000000000.jpg", 403, ""},
		{"GET", "/static/style.css", 200, ""},
		{"POST", "/likes/", 403, ""},
		{"POST", "/comments/", 403, ""},
		{"POST", "/posts/", 403, ""},
		{"POST", "/following/", 403, ""},
		{"POST", "/accounts/logout/", 403, ""},
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		for _, tt := range tests {
			t.Run(tt.method+strings.ReplaceAll(tt.path, "/", "_"), func(t *testing.T) {
				c := newClient(t, app)
				var res response
				if tt.method == "GET" {
					res = c.get(tt.path)
				} else {
					res = c.post(tt.path, map[string]string{"operation": "create"}, nil)
				}
				if res.Status != tt.status || res.Location != tt.location {
					t.Errorf("%s %s: status %d to %q, want %d to %q", tt.method, tt.path, res.Status, res.Location, tt.status, tt.location)
				}
				if tt.status == 403 && !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
					t.Errorf("403 without a friendly page: %q", res.Header.Get("Content-Type"))
				}
			})
		}
		t.Run("login page", func(t *testing.T) {
			c := newClient(t, app)
			body := c.get("/accounts/login/").Body
			if c.cookie("csrf") == "" {
				t.Error("no anonymous csrf cookie for the login form")
			}
			f, ok := findForm(body, "/accounts/?target=/", map[string]string{"operation": "login"})
			if !ok {
				t.Fatal("no login form")
			}
			if f.hidden()["csrf_token"] == "" {
				t.Error("login form without a csrf_token")
			}
			if !strings.Contains(body, `href="/accounts/create/"`) {
				t.Error("no link to /accounts/create/")
			}
			// The nav bar of a visitor says nothing about logging in.
			if nav := strings.ToLower(body[strings.Index(body, "<nav"):strings.Index(body, "</nav>")]); strings.Contains(nav, "login") {
				t.Errorf("nav bar mentions login: %s", nav)
			}
		})
		t.Run("stale session", func(t *testing.T) {
			// A session cookie that no longer works (forged, expired, or of
			// a deleted user) sends the browser to log in and is dropped.
			req, _ := http.NewRequest("GET", app.URL+"/", nil)
			req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: "bm9ib2R5.9999999999.x.y"})
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 302 || res.Header.Get("Location") != "/accounts/login/" {
				t.Errorf("status %d to %q, want 302 to /accounts/login/", res.StatusCode, res.Header.Get("Location"))
			}
			if sc := res.Header.Get("Set-Cookie"); !strings.HasPrefix(sc, auth.CookieName+"=;") || !strings.Contains(sc, "Max-Age=0") {
				t.Errorf("Set-Cookie %q, want the login cookie cleared", sc)
			}
		})
	})
}

// TestUploadsAndStatic checks /uploads/ for a logged-in user and /static/.
func TestUploadsAndStatic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path   string
		status int
		ctype  string
	}{
		{"/uploads/" + awdeorioPhoto, 200, "image/jpeg"},
		{"/uploads/" + post4Image, 200, "image/jpeg"},
		{"/uploads/00000000000000000000000000000000.jpg", 404, "text/html; charset=utf-8"},
		{"/uploads/nothing.jpg", 404, "text/html; charset=utf-8"},
		// Never anything outside the store, however the name is spelled.
		{"/uploads/..%2f..%2fgo.mod", 404, ""},
		{"/uploads/%2e%2e%2fsecret_key", 404, ""},
		{"/uploads/.upload-123", 404, ""},
		{"/uploads/" + strings.ToUpper(awdeorioPhoto), 404, ""},
		{"/static/style.css", 200, "text/css; charset=utf-8"},
		{"/static/icon.svg", 200, "image/svg+xml"},
		{"/static/", 404, "text/html; charset=utf-8"},
		{"/static/nothing.js", 404, "text/html; charset=utf-8"},
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "jag")
		for _, tt := range tests {
			t.Run(strings.ReplaceAll(tt.path, "/", "_"), func(t *testing.T) {
				res := c.with(t).get(tt.path)
				if res.Status != tt.status {
					t.Fatalf("GET %s: status %d, want %d", tt.path, res.Status, tt.status)
				}
				if tt.ctype != "" && res.Header.Get("Content-Type") != tt.ctype {
					t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tt.ctype)
				}
				if strings.Contains(res.Body, "module github.com") {
					t.Error("served a file from outside the upload store")
				}
				if tt.status == 200 && res.Header.Get("X-Content-Type-Options") != "nosniff" {
					t.Error("no X-Content-Type-Options: nosniff")
				}
			})
		}
		t.Run("static revalidates", func(t *testing.T) {
			res := c.with(t).get("/static/style.css")
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag on a static file")
			}
			req, _ := http.NewRequest("GET", app.URL+"/static/style.css", nil)
			req.Header.Set("If-None-Match", etag)
			if res := c.with(t).do(req); res.Status != http.StatusNotModified {
				t.Errorf("conditional GET: status %d, want 304", res.Status)
			}
		})
	})
}
