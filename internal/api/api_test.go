package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/testenv"
)

// as says how a test request authenticates.
type as func(t *testing.T, app *testenv.App, req *http.Request)

// anonymous sends no credentials.
var anonymous as = func(*testing.T, *testenv.App, *http.Request) {}

// basic sends HTTP Basic credentials.
func basic(user, password string) as {
	return func(_ *testing.T, _ *testenv.App, req *http.Request) { req.SetBasicAuth(user, password) }
}

// session sends a session cookie for user, as the login page would set it,
// from the site's own page: a browser's fetch sends Origin with every
// write.
func session(user string) as {
	return func(t *testing.T, app *testenv.App, req *http.Request) {
		t.Helper()
		bareSession(user)(t, app, req)
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			req.Header.Set("Origin", app.URL)
		}
	}
}

// bareSession sends a session cookie for user and nothing else.
func bareSession(user string) as {
	return func(t *testing.T, app *testenv.App, req *http.Request) {
		t.Helper()
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: app.SessionCookie(t, user)})
	}
}

// rawCookie sends a session cookie with the given value.
func rawCookie(value string) as {
	return func(_ *testing.T, _ *testenv.App, req *http.Request) {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: value})
	}
}

// with adds headers to what a sends.
func with(a as, header ...string) as {
	return func(t *testing.T, app *testenv.App, req *http.Request) {
		a(t, app, req)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
	}
}

// The sample users.
var (
	awdeorio = basic("awdeorio", "chickens")
	jflinn   = session("jflinn")
	michjc   = session("michjc")
	jag      = basic("jag", "password")
)

type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request to app and checks what every API answer must be:
// JSON, and for an error exactly the error body of SPEC §5.
func call(t *testing.T, app *testenv.App, method, path string, auth as, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, app.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	auth(t, app, req)
	// Redirects would hide what the API answered.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{res.StatusCode, res.Header, b}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if r.status >= 400 {
		want := map[string]any{"message": http.StatusText(r.status), "status_code": float64(r.status)}
		if got := r.json(t); !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s: %d with body %s, want %v", method, path, r.status, b, want)
		}
	}
	return r
}

// json decodes the body as a JSON object.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// expect fails unless r has status code want.
func (r response) expect(t *testing.T, want int) response {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
	return r
}

// jsonEqual fails unless got, decoded, equals want written as JSON.
func jsonEqual(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		wj, _ := json.Marshal(w)
		t.Errorf("got  %s\nwant %s", g, wj)
	}
}

func TestIndexNeedsNoLogin(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		got := call(t, app, "GET", "/api/v1/", anonymous, "").expect(t, http.StatusOK).json(t)
		jsonEqual(t, got, `{"comments": "/api/v1/comments/", "likes": "/api/v1/likes/", "posts": "/api/v1/posts/", "url": "/api/v1/"}`)
	})
}

// Every call but the index needs a login, whatever else is wrong with it.
func TestAuthentication(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		// Each call below is refused many times over; throttling (429
		// after a few wrong passwords) is app's TestLoginThrottling*.
		app := testenv.NewApp(t, backend, testenv.WithDeps(func(d *app.Deps) {
			d.Throttle = auth.NewThrottle()
			d.Throttle.AccountFree, d.Throttle.AddressBurst = 1000, 1000
		}))
		otherSecret := auth.NewSessions([]byte("another deployment's secret, 32+ bytes long"))
		u, err := app.Store.User(context.Background(), "awdeorio")
		if err != nil {
			t.Fatal(err)
		}
		calls := []struct{ method, path, body string }{
			{"GET", "/api/v1/posts/", ""},
			{"GET", "/api/v1/posts/?size=-1", ""},
			{"GET", "/api/v1/posts/1/", ""},
			{"GET", "/api/v1/posts/1000/", ""},
			{"POST", "/api/v1/likes/?postid=4", ""},
			{"POST", "/api/v1/likes/", ""},
			{"DELETE", "/api/v1/likes/1/", ""},
			{"POST", "/api/v1/comments/?postid=4", `{"text": "hi"}`},
			{"DELETE", "/api/v1/comments/1/", ""},
		}
		refused := []struct {
			name string
			auth as
		}{
			{"none", anonymous},
			{"basic wrong password", basic("awdeorio", "password")},
			{"basic unknown user", basic("nobody", "password")},
			{"basic empty", basic("", "")},
			{"basic injection", basic("' OR 1=1 --", "' OR 1=1 --")},
			{"malformed authorization", with(anonymous, "Authorization", "Basic !!!")},
			{"garbage cookie", rawCookie("garbage")},
			{"cookie from another secret", rawCookie(otherSecret.Issue(auth.Session{Username: "awdeorio", ID: "x", Expires: time.Now().Add(time.Hour)}))},
			{"cookie for an unknown session", rawCookie(auth.NewSessions(app.Secret).Issue(auth.Session{Username: u.Username, ID: "not-a-session", Expires: time.Now().Add(time.Hour)}))},
			// Explicit credentials decide: wrong ones are not rescued by a cookie.
			{"basic wrong with good cookie", with(session("jflinn"), "Authorization",
				"Basic "+base64.StdEncoding.EncodeToString([]byte("jflinn:wrong")))},
		}
		for _, a := range refused {
			for _, c := range calls {
				call(t, app, c.method, c.path, a.auth, c.body).expect(t, http.StatusForbidden)
			}
		}
		// Nothing above changed anything.
		got := call(t, app, "GET", "/api/v1/posts/1/", session("awdeorio"), "").expect(t, http.StatusOK).json(t)
		if n := len(got["comments"].([]any)); n != 2 {
			t.Errorf("post 1 has %d comments after refused calls, want 2", n)
		}

		for _, a := range []struct {
			name string
			auth as
		}{
			{"basic", basic("michjc", "password")},
			{"cookie", session("michjc")},
			// A session survives the Basic login above upgrading michjc's
			// legacy hash only because session() reads the current hash.
			{"basic and cookie", with(session("michjc"), "Authorization",
				"Basic "+base64.StdEncoding.EncodeToString([]byte("michjc:password")))},
		} {
			t.Run(a.name, func(t *testing.T) {
				// michjc's feed: own posts (none) and awdeorio's and jag's.
				got := call(t, app, "GET", "/api/v1/posts/", a.auth, "").expect(t, http.StatusOK).json(t)
				if want := []any{4.0, 3.0, 1.0}; !reflect.DeepEqual(postids(got), want) {
					t.Errorf("feed %v, want %v", postids(got), want)
				}
			})
		}
	})
}

// Unsafe calls authenticated by the session cookie must come from the
// site's own origin and say so (Origin, Sec-Fetch-Site) or carry JSON;
// Basic and safe methods need no such check.
func TestCrossOriginCookieCalls(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		host := strings.TrimPrefix(app.URL, "http://")
		cookie := bareSession("jag")
		refused := []struct {
			name   string
			header []string
		}{
			{"sec-fetch-site cross-site", []string{"Sec-Fetch-Site", "cross-site"}},
			{"sec-fetch-site same-site", []string{"Sec-Fetch-Site", "same-site"}},
			{"sec-fetch-site unknown value", []string{"Sec-Fetch-Site", "elsewhere"}},
			{"origin other host", []string{"Origin", "http://evil.example"}},
			{"origin other port", []string{"Origin", "http://" + strings.Split(host, ":")[0] + ":1"}},
			{"origin null", []string{"Origin", "null"}},
			{"origin mismatched despite same-origin claim", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://evil.example"}},
			{"same origin but cross-site fetch", []string{"Sec-Fetch-Site", "cross-site", "Origin", app.URL}},
			// A write that shows neither where it comes from nor a JSON
			// body (which needs a preflight cross-origin) is refused.
			{"no origin, text/plain", []string{"Content-Type", "text/plain"}},
			{"typed url, form body", []string{"Sec-Fetch-Site", "none", "Content-Type", "application/x-www-form-urlencoded"}},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				a := with(cookie, c.header...)
				call(t, app, "POST", "/api/v1/likes/?postid=1", a, "").expect(t, http.StatusForbidden)
				call(t, app, "POST", "/api/v1/comments/?postid=1", a, `{"text": "forged"}`).expect(t, http.StatusForbidden)
				call(t, app, "DELETE", "/api/v1/comments/7/", a, "").expect(t, http.StatusForbidden)
				// Reading is always allowed.
				call(t, app, "GET", "/api/v1/posts/1/", a, "").expect(t, http.StatusOK)
			})
		}
		got := call(t, app, "GET", "/api/v1/posts/1/", cookie, "").expect(t, http.StatusOK).json(t)
		if likes := got["likes"].(map[string]any); likes["lognameLikesThis"] != false || len(got["comments"].([]any)) != 2 {
			t.Fatalf("a refused call changed post 1: %v", got)
		}
		call(t, app, "GET", "/api/v1/posts/4/", cookie, "").expect(t, http.StatusOK)

		// Same-origin browsers and non-browser clients pass.
		call(t, app, "POST", "/api/v1/likes/?postid=1", with(cookie, "Sec-Fetch-Site", "same-origin", "Origin", app.URL), "").expect(t, http.StatusCreated)
		call(t, app, "POST", "/api/v1/likes/?postid=2", with(cookie, "Origin", app.URL), "").expect(t, http.StatusCreated)
		call(t, app, "POST", "/api/v1/likes/?postid=3", with(cookie, "Content-Type", "application/json"), "").expect(t, http.StatusCreated)
		call(t, app, "DELETE", "/api/v1/comments/7/", with(cookie, "Sec-Fetch-Site", "same-origin"), "").expect(t, http.StatusNoContent)
		// Basic needs no origin check (SPEC §4).
		call(t, app, "POST", "/api/v1/likes/?postid=4", with(jag, "Sec-Fetch-Site", "cross-site", "Origin", "http://evil.example"), "").expect(t, http.StatusCreated)
	})
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		for _, a := range []as{anonymous, awdeorio} {
			for _, path := range []string{
				"/api/v1/posts/1000/likes/",
				"/api/v1/posts/1/likes/",
				"/api/v1/posts/1/comments/",
				"/api/v1/nothing",
				"/api/v1/nothing/",
				"/api/v1/users/awdeorio/",
				// Known paths without their trailing slash: no HTML redirect.
				"/api/v1",
				"/api/v1/posts",
				"/api/v1/posts/1",
				"/api/v1/likes",
				"/api/v1/likes/1",
				"/api/v1/comments/1",
				"/api/v1/likes/1/extra/",
			} {
				call(t, app, "GET", path, a, "").expect(t, http.StatusNotFound)
				call(t, app, "POST", path, a, "").expect(t, http.StatusNotFound)
			}
		}
		methods := []struct{ method, path, allow string }{
			{"POST", "/api/v1/", "GET, HEAD"},
			{"DELETE", "/api/v1/", "GET, HEAD"},
			{"POST", "/api/v1/posts/", "GET, HEAD"},
			{"DELETE", "/api/v1/posts/1/", "GET, HEAD"},
			{"PUT", "/api/v1/posts/1/", "GET, HEAD"},
			{"GET", "/api/v1/likes/", "POST"},
			{"DELETE", "/api/v1/likes/", "POST"},
			{"GET", "/api/v1/likes/1/", "DELETE"},
			{"POST", "/api/v1/likes/1/", "DELETE"},
			{"GET", "/api/v1/comments/", "POST"},
			{"GET", "/api/v1/comments/?postid=3", "POST"},
			{"PATCH", "/api/v1/comments/1/", "DELETE"},
		}
		for _, m := range methods {
			r := call(t, app, m.method, m.path, awdeorio, "").expect(t, http.StatusMethodNotAllowed)
			if got := r.header.Get("Allow"); got != m.allow {
				t.Errorf("%s %s: Allow %q, want %q", m.method, m.path, got, m.allow)
			}
		}
		// The like and comment above were not touched by the wrong methods.
		got := call(t, app, "GET", "/api/v1/posts/1/", awdeorio, "").expect(t, http.StatusOK).json(t)
		if n := got["likes"].(map[string]any)["numLikes"]; n != 3.0 {
			t.Errorf("post 1 has %v likes, want 3", n)
		}
	})
}
