package app_test

import (
	"bytes"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/testenv"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// client is a browser with one cookie jar that may talk to several
// instances of the site, as behind a load balancer.
type client struct {
	t    *testing.T
	http *http.Client
}

func newClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) get(base, path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends a form as the site's forms do (multipart), with the CSRF
// token found on page.
func (c *client) post(base, path, page string, fields map[string]string) int {
	c.t.Helper()
	return c.postResp(base, path, page, fields).StatusCode
}

// postResp is post returning the response, its body read and closed.
func (c *client) postResp(base, path, page string, fields map[string]string) *http.Response {
	c.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no csrf_token on the page before POST %s", path)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf_token", m[1])
	for k, v := range fields {
		w.WriteField(k, v)
	}
	w.Close()
	resp, err := c.http.Post(base+path, w.FormDataContentType(), &body)
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestSessionsWorkAcrossInstances: app servers keep nothing in memory that
// another needs. A session and CSRF token from one instance work on another
// sharing the database and the secret key; an instance with another key
// accepts neither.
func TestSessionsWorkAcrossInstances(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		first := testenv.NewApp(t, backend)
		instance := func(secret []byte) *httptest.Server {
			srv := httptest.NewServer(app.New(app.Deps{Store: first.Store, Media: first.Media, Secret: secret,
				MaxUpload: 16 << 20, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
			t.Cleanup(srv.Close)
			return srv
		}
		second := instance(first.Secret)
		stranger := instance([]byte("a different secret key, 32+ characters long"))

		c := newClient(t)
		_, login := c.get(first.URL, "/accounts/login/")
		if code := c.post(first.URL, "/accounts/?target=/", login,
			map[string]string{"operation": "login", "username": "awdeorio", "password": "chickens"}); code != http.StatusFound {
			t.Fatalf("login on the first instance = %d", code)
		}
		// The jar is keyed by host; both test servers are 127.0.0.1.
		u, _ := url.Parse(second.URL)
		if len(c.http.Jar.Cookies(u)) == 0 {
			t.Fatal("no session cookie to carry to the second instance")
		}

		code, feed := c.get(second.URL, "/")
		if code != http.StatusOK || !strings.Contains(feed, `href="/users/awdeorio/"`) {
			t.Fatalf("the second instance does not accept the session: %d", code)
		}
		// A form rendered by the second instance posts to the first.
		if code := c.post(first.URL, "/likes/?target=/", feed, map[string]string{"operation": "like", "postid": "4"}); code != http.StatusFound {
			t.Errorf("like with a CSRF token from the other instance = %d, want 302", code)
		}
		if code, _ := c.get(second.URL, "/accounts/auth/"); code != http.StatusOK {
			t.Errorf("/accounts/auth/ on the second instance = %d", code)
		}

		if code, _ := c.get(stranger.URL, "/"); code != http.StatusFound {
			t.Errorf("an instance with another secret accepted the session: %d", code)
		}
		if code, _ := c.get(stranger.URL, "/accounts/auth/"); code != http.StatusForbidden {
			t.Errorf("/accounts/auth/ with another secret = %d, want 403", code)
		}
	})
}

// TestDatabaseOutageIsNotALogout: when the database cannot be asked who a
// session belongs to, the site shows its error page and the API a JSON
// 500. Neither may pretend the user logged out (a redirect to the login
// page, a 403, a cleared cookie).
func TestDatabaseOutageIsNotALogout(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		a := testenv.NewApp(t, backend)
		c := newClient(t)
		_, login := c.get(a.URL, "/accounts/login/")
		if code := c.post(a.URL, "/accounts/?target=/", login,
			map[string]string{"operation": "login", "username": "awdeorio", "password": "chickens"}); code != http.StatusFound {
			t.Fatalf("login = %d", code)
		}
		_, feed := c.get(a.URL, "/")
		testenv.ExecSQL(t, a, "ALTER TABLE users RENAME TO users_gone")

		resp, err := c.http.Get(a.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("GET / during an outage = %d, want 500", resp.StatusCode)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == "login" && ck.MaxAge < 0 {
				t.Error("the session cookie was cleared during an outage")
			}
		}
		if code := c.post(a.URL, "/likes/?target=/", feed, map[string]string{"operation": "like", "postid": "4"}); code != http.StatusInternalServerError {
			t.Errorf("a form action during an outage = %d, want 500", code)
		}
		code, body := c.get(a.URL, "/api/v1/posts/")
		if code != http.StatusInternalServerError || !strings.Contains(body, `"status_code": 500`) {
			t.Errorf("the API during an outage = %d %s, want a JSON 500", code, body)
		}
		req, _ := http.NewRequest("GET", a.URL+"/api/v1/posts/", nil)
		req.SetBasicAuth("awdeorio", "chickens")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("Basic auth during an outage = %d, want 500", resp.StatusCode)
		}

		// Back up again, the same session works.
		testenv.ExecSQL(t, a, "ALTER TABLE users_gone RENAME TO users")
		if code, _ := c.get(a.URL, "/"); code != http.StatusOK {
			t.Errorf("after the outage GET / = %d, want 200", code)
		}
	})
}
