package web_test

import (
	"net/http"
	"testing"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/testenv"
)

// TestCSRF sends every logged-in form of SPEC §3 with a missing, wrong,
// someone else's, or anonymous token: each gets 400 and changes nothing.
func TestCSRF(t *testing.T) {
	t.Parallel()
	img := pngImage(t)
	forms := []struct {
		name   string
		path   string
		fields map[string]string
		file   *upload
	}{
		{"like", "/likes/?target=/", map[string]string{"operation": "like", "postid": "4"}, nil},
		{"unlike", "/likes/?target=/", map[string]string{"operation": "unlike", "postid": "1"}, nil},
		{"comment", "/comments/?target=/", map[string]string{"operation": "create", "postid": "1", "text": "forged"}, nil},
		{"delete comment", "/comments/?target=/", map[string]string{"operation": "delete", "commentid": "1"}, nil},
		{"upload post", "/posts/?target=/users/awdeorio/", map[string]string{"operation": "create"}, &upload{"x.png", img}},
		{"delete post", "/posts/?target=/users/awdeorio/", map[string]string{"operation": "delete", "postid": "3"}, nil},
		{"follow", "/following/?target=/", map[string]string{"operation": "follow", "username": "jag"}, nil},
		{"unfollow", "/following/?target=/", map[string]string{"operation": "unfollow", "username": "jflinn"}, nil},
		{"edit account", "/accounts/?target=/accounts/edit/", map[string]string{"operation": "edit_account", "fullname": "Forged", "email": "f@f"}, &upload{"x.png", img}},
		{"change password", "/accounts/?target=/accounts/edit/", map[string]string{"operation": "update_password",
			"password": "chickens", "new_password1": "forged", "new_password2": "forged"}, nil},
		{"delete account", "/accounts/?target=/accounts/create/", map[string]string{"operation": "delete"}, nil},
		{"logout", "/accounts/logout/", nil, nil},
	}
	tokens := []struct {
		name  string
		token string
		from  func(t *testing.T, app *testenv.App, c *client) string
	}{
		{name: "missing", token: "-"},
		{name: "wrong", token: "AAAAAAAAAAAAAAAAAAAAAAAA"},
		{name: "another user's", from: func(t *testing.T, app *testenv.App, _ *client) string {
			return loggedIn(t, app, "jflinn").token()
		}},
		{name: "anonymous", from: func(t *testing.T, app *testenv.App, c *client) string { return c.anonToken }},
	}
	var cases []actionCase
	for _, f := range forms {
		for _, tok := range tokens {
			cases = append(cases, actionCase{
				name: f.name + " " + tok.name, user: "awdeorio", path: f.path, fields: f.fields, file: f.file,
				token: tok.token, tokenFrom: tok.from, status: http.StatusBadRequest,
				// The session goes on: a forged logout did not end it.
				check: func(t *testing.T, _ *testenv.App, c *client) { loggedInAs(t, c, "awdeorio") },
			})
		}
	}
	runActions(t, cases)
}

// TestCSRFVisitors covers the forms visitors send, login and sign-up: their
// token is bound to the anonymous csrf cookie set by the page showing the
// form, so a token from elsewhere is refused and no session starts.
func TestCSRFVisitors(t *testing.T) {
	t.Parallel()
	img := pngImage(t)
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		other := newClient(t, app)
		otherToken := csrfToken(t, other.get("/accounts/login/").Body)
		for _, op := range []struct {
			name   string
			fields map[string]string
			file   *upload
		}{
			{"login", map[string]string{"operation": "login", "username": "awdeorio", "password": "chickens"}, nil},
			{"sign up", signUpFields("forged"), &upload{"me.png", img}},
		} {
			for _, tok := range []struct {
				name      string
				token     string
				visitPage bool
			}{
				{"missing", "-", true},
				{"wrong", "AAAAAAAAAAAAAAAAAAAAAAAA", true},
				{"another visitor's", otherToken, true},
				{"no csrf cookie", otherToken, false},
			} {
				t.Run(op.name+" "+tok.name, func(t *testing.T) {
					c := newClient(t, app)
					if tok.visitPage {
						c.get("/accounts/login/")
						if c.cookie("csrf") == "" {
							t.Fatal("the login page set no csrf cookie")
						}
					}
					fields := with(op.fields, "csrf_token", tok.token)
					if tok.token == "-" {
						delete(fields, "csrf_token")
					}
					before := snapshot(t, app)
					res := c.post("/accounts/?target=/", fields, op.file)
					if res.Status != http.StatusBadRequest {
						t.Fatalf("status %d, want 400\n%s", res.Status, res.Body)
					}
					if after := snapshot(t, app); after != before {
						t.Errorf("data changed:\nbefore:\n%s\nafter:\n%s", before, after)
					}
					if c.cookie(auth.CookieName) != "" {
						t.Error("a session started")
					}
				})
			}
		}
	})
}
