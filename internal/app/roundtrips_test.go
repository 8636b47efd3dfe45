package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/testenv"
)

// TestRoundTripsPerRequest: on PostgreSQL every GET of the API and of the
// pages costs one round trip to the database, the session or password
// check included, and a write at most two (the check, then the write), as
// the store counts them. On SQLite, which runs in the process, the same
// requests give the same answers.
func TestRoundTripsPerRequest(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		cookie := auth.CookieName + "=" + app.SessionCookie(t, "awdeorio")
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		do := func(method, path string, basic bool, body string) (int, string) {
			t.Helper()
			req, err := http.NewRequest(method, app.URL+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if basic {
				req.SetBasicAuth("awdeorio", "chickens")
			} else {
				// As a browser sends it: cookie writes must show they are
				// same-origin.
				req.Header.Set("Cookie", cookie)
				req.Header.Set("Sec-Fetch-Site", "same-origin")
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		// The first Basic request checks the password in full (more
		// statements); later ones only compare against the stored hash.
		if code, _ := do("GET", "/api/v1/", true, ""); code != http.StatusOK {
			t.Fatalf("GET /api/v1/: %d", code)
		}
		do("GET", "/api/v1/posts/", true, "")

		type call struct {
			method, path string
			basic        bool
			body         string
			want         int
			statements   uint64
		}
		// check sends c and returns the body. It counts statements: a
		// connection's first use of a statement also prepares it (one more
		// round trip, once per connection), so round trips are checked on
		// the second pass, when the statements are prepared.
		check := func(c call, pass int) string {
			t.Helper()
			calls := app.Store.Calls()
			var stmts, trips uint64
			if calls != nil {
				stmts, trips = calls.Statements(), calls.RoundTrips()
			}
			code, body := do(c.method, c.path, c.basic, c.body)
			if code != c.want {
				t.Errorf("%s %s (basic %v): %d, want %d: %.200s", c.method, c.path, c.basic, code, c.want, body)
			}
			if calls == nil {
				return body
			}
			if got := calls.Statements() - stmts; got != c.statements {
				t.Errorf("%s %s (basic %v): %d statements sent to PostgreSQL, want %d", c.method, c.path, c.basic, got, c.statements)
			}
			if got := calls.RoundTrips() - trips; pass > 0 && got != c.statements {
				t.Errorf("%s %s (basic %v), again: %d round trips to PostgreSQL for %d statements", c.method, c.path, c.basic, got, c.statements)
			}
			return body
		}
		for pass := range 2 {
			for _, c := range []call{
				{"GET", "/api/v1/posts/", false, "", 200, 1},
				{"GET", "/api/v1/posts/", true, "", 200, 1},
				{"GET", "/api/v1/posts/?size=1&page=1", false, "", 200, 1},
				{"GET", "/api/v1/posts/3/", false, "", 200, 1},
				{"GET", "/api/v1/posts/3/", true, "", 200, 1},
				{"GET", "/api/v1/posts/4711/", false, "", 404, 1},
				{"GET", "/", false, "", 200, 1},
				{"GET", "/users/jflinn/", false, "", 200, 1},
				{"GET", "/users/nobody/", false, "", 404, 1},
				{"GET", "/users/jflinn/followers/", false, "", 200, 1},
				{"GET", "/users/jflinn/following/", false, "", 200, 1},
				{"GET", "/posts/3/", false, "", 200, 1},
				{"GET", "/explore/", false, "", 200, 1},
				{"GET", "/accounts/edit/", false, "", 200, 1},
			} {
				check(c, pass)
			}
		}
		// Writes: the check, then one statement that does the write with
		// its own checks.
		check(call{"POST", "/api/v1/likes/?postid=4", true, "", 201, 2}, 0)
		like := check(call{"POST", "/api/v1/likes/?postid=4", true, "", 200, 2}, 0)
		comment := check(call{"POST", "/api/v1/comments/?postid=2", false, `{"text": "one trip"}`, 201, 2}, 0)
		check(call{"DELETE", "/api/v1/likes/" + jsonID(t, like, "likeid") + "/", false, "", 204, 2}, 0)
		check(call{"DELETE", "/api/v1/comments/" + jsonID(t, comment, "commentid") + "/", true, "", 204, 2}, 0)
	})
}

// jsonID reads the number field key of a JSON object.
func jsonID(t *testing.T, body, key string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	n, ok := v[key].(float64)
	if !ok {
		t.Fatalf("no %s in %s", key, body)
	}
	return strconv.FormatInt(int64(n), 10)
}
