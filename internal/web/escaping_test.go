package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// markup is what a user writes to break out of wherever a page puts their
// text: out of a quoted attribute and into a script element.
const markup = `"'><script>alert(1)</script>`

// escapedMarkup is markup as html/template writes it in text and in
// attribute values alike.
const escapedMarkup = `&#34;&#39;&gt;&lt;script&gt;alert(1)&lt;/script&gt;`

// TestUserTextIsEscapedOnEveryPage puts markup in every field a user
// writes (full name, email, comment text; username, which sign-up refuses,
// and the login form's username, which pages show back) and reads every
// page that shows them, as the writer and as someone else: the text is
// shown, escaped for where it stands, and no page gains a script element.
func TestUserTextIsEscapedOnEveryPage(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		writer := loggedIn(t, app, "awdeorio")
		if res := writer.submit("/accounts/?target=/accounts/edit/", map[string]string{
			"operation": "edit_account", "fullname": markup, "email": markup + "@example.com",
		}, nil); res.Status != http.StatusFound {
			t.Fatalf("edit account: status %d, want 302\n%s", res.Status, res.Body)
		}
		// Post 3 is awdeorio's and on both readers' pages; post 2 is jflinn's.
		for _, post := range []string{"3", "2"} {
			if res := writer.submit("/comments/?target=/", map[string]string{
				"operation": "create", "postid": post, "text": markup,
			}, nil); res.Status != http.StatusFound {
				t.Fatalf("comment on post %s: status %d, want 302\n%s", post, res.Status, res.Body)
			}
		}
		reader := loggedIn(t, app, "jflinn")
		visitor := newClient(t, app)

		tests := []struct {
			name string
			page func() response
			// shown: the page shows the markup (escaped); otherwise it
			// must still hold no trace of it unescaped.
			shown bool
			// scripts is how many script elements the page has of its own.
			scripts int
		}{
			{"feed as writer", func() response { return writer.get("/") }, true, 1},
			{"feed as reader", func() response { return reader.get("/") }, true, 1},
			{"own post page", func() response { return writer.get("/posts/3/") }, true, 0},
			{"someone's post page", func() response { return writer.get("/posts/2/") }, true, 0},
			{"post page as reader", func() response { return reader.get("/posts/3/") }, true, 0},
			{"own user page", func() response { return writer.get("/users/awdeorio/") }, true, 0},
			{"user page as reader", func() response { return reader.get("/users/awdeorio/") }, true, 0},
			{"edit page", func() response { return writer.get("/accounts/edit/") }, true, 0},
			{"password page", func() response { return writer.get("/accounts/password/") }, false, 0},
			{"delete page", func() response { return writer.get("/accounts/delete/") }, false, 0},
			{"followers", func() response { return reader.get("/users/awdeorio/followers/") }, false, 0},
			{"following", func() response { return reader.get("/users/awdeorio/following/") }, false, 0},
			{"explore", func() response { return writer.get("/explore/") }, false, 0},
			{"login form shown back", func() response { return visitor.tryLogin(markup, "password") }, true, 0},
			{"sign-up form shown back", func() response {
				page := visitor.get("/accounts/create/")
				return visitor.post("/accounts/?target=/", map[string]string{
					"operation": "create", "username": markup, "fullname": markup, "email": markup,
					"password": "s3cret pass", "csrf_token": csrfToken(t, page.Body),
				}, nil)
			}, true, 0},
			{"comment refused, error page", func() response {
				return writer.submit("/comments/?target=/", map[string]string{"operation": markup, "postid": "3"}, nil)
			}, false, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res := tc.page()
				if res.Status >= 500 || res.Body == "" {
					t.Fatalf("status %d, body %d bytes", res.Status, len(res.Body))
				}
				if strings.Contains(res.Body, "<script>alert") || strings.Contains(res.Body, `'>`) {
					t.Errorf("the markup comes out unescaped:\n%s", res.Body)
				}
				if got := strings.Count(strings.ToLower(res.Body), "<script"); got != tc.scripts {
					t.Errorf("%d script elements, want %d", got, tc.scripts)
				}
				if tc.shown && !strings.Contains(res.Body, escapedMarkup) {
					t.Errorf("the markup is not shown escaped (%s):\n%s", escapedMarkup, res.Body)
				}
			})
		}
	})
}
