package web_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// TestPagesAsAwdeorio reads every page of SPEC §3 as awdeorio on the sample
// data and checks what the spec says each shows. Nothing here changes data,
// so all cases share one app per backend.
func TestPagesAsAwdeorio(t *testing.T) {
	t.Parallel()
	recent := regexp.MustCompile(`just now|\d+ seconds ago|a minute ago`)
	tests := []struct {
		path         string
		status       int
		location     string
		text         []string // in the page text
		notText      []string // not in the page text
		links        []string
		notLinks     []string
		imgs         []string
		notImgs      []string
		check        func(t *testing.T, body string)
		skipNavCheck bool
	}{
		{
			path:   "/",
			status: http.StatusOK,
			text: []string{"3 likes", "2 likes", "1 like", "#chickensofinstagram", "I <3 chickens", "Cute overload!",
				"Sick #crossword", "Walking the plank #chickensofinstagram", "This was after trying to teach them to do a #crossword"},
			notText:  []string{"Saw this on the diag yesterday!", "0 likes"},
			links:    []string{"/users/awdeorio/", "/users/jflinn/", "/users/michjc/", "/posts/1/", "/posts/2/", "/posts/3/"},
			notLinks: []string{"/posts/4/", "/users/jag/"},
			imgs: []string{"/uploads/" + post1Image, "/uploads/" + post2Image, "/uploads/" + post3Image,
				"/uploads/" + awdeorioPhoto, "/uploads/505083b8b56c97429a728b68f31b0b2a089e5113.jpg"},
			notImgs: []string{"/uploads/" + post4Image},
			check: func(t *testing.T, body string) {
				if got := regexp.MustCompile(`data-postid="(\d+)"`).FindAllStringSubmatch(body, -1); len(got) != 3 ||
					got[0][1] != "3" || got[1][1] != "2" || got[2][1] != "1" {
					t.Errorf("posts in order %v, want 3, 2, 1", got)
				}
				if !strings.Contains(body, `<div id="feed" class="feed" data-next="" data-logname="awdeorio">`) {
					t.Error("no #feed with an empty data-next (the feed fits one page) and data-logname")
				}
				if !strings.Contains(body, `<script type="module" src="/static/feed.js"></script>`) {
					t.Error("the feed page does not load /static/feed.js")
				}
				if strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") {
					t.Error("the feed page has inline script")
				}
				if !recent.MatchString(pageText(body)) {
					t.Error("no humanised timestamp such as \"just now\"")
				}
				// No delete buttons on the feed, and the forms of §3.
				for _, f := range forms(body) {
					if f.hidden()["operation"] == "delete" {
						t.Errorf("delete form on the feed: %v", f.Attrs)
					}
				}
				for _, id := range []string{"1", "2", "3"} {
					if _, ok := findForm(body, "/likes/?target=/", map[string]string{"operation": "unlike", "postid": id}); !ok {
						t.Errorf("no unlike form for post %s, which awdeorio likes", id)
					}
					if _, ok := findForm(body, "/comments/?target=/", map[string]string{"operation": "create", "postid": id}); !ok {
						t.Errorf("no comment form for post %s", id)
					}
				}
				for _, id := range []string{"like-unlike-button", "comment-form", "comment-text", "post-time-ago"} {
					if !strings.Contains(body, `data-testid="`+id+`"`) {
						t.Errorf("no data-testid=%q", id)
					}
				}
			},
		},
		{
			path:    "/users/awdeorio/",
			status:  http.StatusOK,
			text:    []string{"Andrew DeOrio", "2 posts", "2 followers", "2 following", "Edit profile"},
			notText: []string{"not following", "No posts yet."},
			links:   []string{"/users/awdeorio/followers/", "/users/awdeorio/following/", "/accounts/edit/", "/posts/1/", "/posts/3/"},
			imgs:    []string{"/uploads/" + post1Image, "/uploads/" + post3Image, "/uploads/" + awdeorioPhoto},
			check: func(t *testing.T, body string) {
				// SPEC §3: exactly twice (nav bar and heading) and once.
				text := pageText(body)
				if n := strings.Count(text, "awdeorio"); n != 2 {
					t.Errorf("\"awdeorio\" appears %d times in the page text, want 2:\n%s", n, text)
				}
				if n := strings.Count(strings.ToLower(text), "following"); n != 1 {
					t.Errorf("\"following\" appears %d times in the page text, want 1:\n%s", n, text)
				}
				if _, ok := findForm(body, "/accounts/logout/", nil); !ok {
					t.Error("no logout form")
				}
				if _, ok := findForm(body, "/posts/?target=/users/awdeorio/", map[string]string{"operation": "create"}); !ok {
					t.Error("no upload form")
				}
				if _, ok := findForm(body, "/following/?target=/users/awdeorio/", nil); ok {
					t.Error("a follow or unfollow form on one's own page")
				}
			},
		},
		{
			path:   "/users/jflinn/",
			status: http.StatusOK,
			text:   []string{"Jason Flinn", "1 post", "1 follower", "2 following", "jflinn"},
			links:  []string{"/posts/2/", "/users/jflinn/followers/", "/users/jflinn/following/"},
			check: func(t *testing.T, body string) {
				text := pageText(body)
				if strings.Contains(text, "not following") || strings.Contains(text, "Edit profile") {
					t.Error("awdeorio follows jflinn: want \"following\", no edit link")
				}
				if _, ok := findForm(body, "/following/?target=/users/jflinn/", map[string]string{"operation": "unfollow", "username": "jflinn"}); !ok {
					t.Error("no unfollow form")
				}
				if _, ok := findForm(body, "/accounts/logout/", nil); ok {
					t.Error("logout form on someone else's page")
				}
			},
		},
		{
			path:   "/users/jag/",
			status: http.StatusOK,
			text:   []string{"H.V. Jagadish", "1 post", "1 follower", "1 following", "not following"},
			check: func(t *testing.T, body string) {
				if _, ok := findForm(body, "/following/?target=/users/jag/", map[string]string{"operation": "follow", "username": "jag"}); !ok {
					t.Error("no follow form")
				}
			},
		},
		{path: "/users/michjc/", status: http.StatusOK, text: []string{"0 posts", "No posts yet.", "3 followers", "2 following"}},
		{path: "/users/nobody/", status: http.StatusNotFound, text: []string{"There is no user by that name."}},
		{
			path:   "/users/awdeorio/followers/",
			status: http.StatusOK,
			text:   []string{"Followers"},
			links:  []string{"/users/jflinn/", "/users/michjc/"},
			imgs:   []string{"/uploads/505083b8b56c97429a728b68f31b0b2a089e5113.jpg", "/uploads/5ecde7677b83304132cb2871516ea50032ff7a4f.jpg"},
			check: func(t *testing.T, body string) {
				for _, u := range []string{"jflinn", "michjc"} {
					if _, ok := findForm(body, "/following/?target=/users/awdeorio/followers/", map[string]string{"operation": "unfollow", "username": u}); !ok {
						t.Errorf("no unfollow form for %s", u)
					}
				}
			},
		},
		{
			path:   "/users/awdeorio/following/",
			status: http.StatusOK,
			text:   []string{"Following"},
			links:  []string{"/users/jflinn/", "/users/michjc/"},
			check: func(t *testing.T, body string) {
				if n := strings.Count(pageText(body), "following"); n != 2 {
					t.Errorf("\"following\" %d times, want 2 (one per followed user)", n)
				}
			},
		},
		{
			path:   "/users/michjc/followers/",
			status: http.StatusOK,
			links:  []string{"/users/awdeorio/", "/users/jflinn/", "/users/jag/"},
			check: func(t *testing.T, body string) {
				if _, ok := findForm(body, "/following/?target=/users/michjc/followers/", map[string]string{"operation": "follow", "username": "jag"}); !ok {
					t.Error("no follow form for jag, whom awdeorio does not follow")
				}
				if _, ok := findForm(body, "/following/?target=/users/michjc/followers/", map[string]string{"username": "awdeorio"}); ok {
					t.Error("a follow form for the logname")
				}
				if !strings.Contains(pageText(body), "not following") {
					t.Error("no \"not following\" for jag")
				}
			},
		},
		{path: "/users/nobody/followers/", status: http.StatusNotFound},
		{path: "/users/nobody/following/", status: http.StatusNotFound},
		// Names no user can have (PostgreSQL cannot even compare them).
		{path: "/users/a%00b/", status: http.StatusNotFound},
		{path: "/users/a%FFb/", status: http.StatusNotFound},
		{path: "/users/a%00b/followers/", status: http.StatusNotFound},
		{path: "/users/a%FFb/following/", status: http.StatusNotFound},
		{
			path:     "/explore/",
			status:   http.StatusOK,
			links:    []string{"/users/jag/"},
			notLinks: []string{"/users/jflinn/", "/users/michjc/"},
			notText:  []string{"following"},
			imgs:     []string{"/uploads/73ab33bd357c3fd42292487b825880958c595655.jpg"},
			check: func(t *testing.T, body string) {
				if _, ok := findForm(body, "/following/?target=/explore/", map[string]string{"operation": "follow", "username": "jag"}); !ok {
					t.Error("no follow form for jag")
				}
			},
		},
		{
			path:   "/posts/3/",
			status: http.StatusOK,
			text:   []string{"1 like", "#chickensofinstagram", "I <3 chickens", "Cute overload!"},
			imgs:   []string{"/uploads/" + post3Image},
			check: func(t *testing.T, body string) {
				if _, ok := findForm(body, "/comments/?target=/posts/3/", map[string]string{"operation": "delete", "commentid": "1"}); !ok {
					t.Error("no delete form for awdeorio's comment 1")
				}
				for _, id := range []string{"2", "3"} {
					if _, ok := findForm(body, "/comments/?target=/posts/3/", map[string]string{"operation": "delete", "commentid": id}); ok {
						t.Errorf("delete form for someone else's comment %s", id)
					}
				}
				if _, ok := findForm(body, "/posts/?target=/users/awdeorio/", map[string]string{"operation": "delete", "postid": "3"}); !ok {
					t.Error("no delete-post form on the logname's post")
				}
			},
		},
		{
			path:   "/posts/2/",
			status: http.StatusOK,
			check: func(t *testing.T, body string) {
				if _, ok := findForm(body, "/posts/?target=/users/awdeorio/", map[string]string{"operation": "delete"}); ok {
					t.Error("delete-post form on jflinn's post")
				}
				if _, ok := findForm(body, "/comments/?target=/posts/2/", map[string]string{"operation": "delete", "commentid": "4"}); !ok {
					t.Error("no delete form for awdeorio's comment 4")
				}
			},
		},
		{path: "/posts/4/", status: http.StatusOK, text: []string{"0 likes", "Saw this on the diag yesterday!"}},
		{path: "/posts/99/", status: http.StatusNotFound},
		{path: "/posts/abc/", status: http.StatusNotFound},
		{path: "/posts/-1/", status: http.StatusNotFound},
		{path: "/posts/99999999999999999999999/", status: http.StatusNotFound},
		{
			path:   "/accounts/edit/",
			status: http.StatusOK,
			text:   []string{"awdeorio"},
			links:  []string{"/accounts/password/", "/accounts/delete/"},
			imgs:   []string{"/uploads/" + awdeorioPhoto},
		},
		{path: "/accounts/password/", status: http.StatusOK, links: []string{"/accounts/edit/"}},
		{path: "/accounts/delete/", status: http.StatusOK, text: []string{"awdeorio"}},
		{path: "/accounts/login/", status: http.StatusFound, location: "/", skipNavCheck: true},
		{path: "/accounts/create/", status: http.StatusFound, location: "/accounts/edit/", skipNavCheck: true},
		{
			path: "/accounts/auth/", status: http.StatusOK, skipNavCheck: true,
			check: func(t *testing.T, body string) {
				if body != "" {
					t.Errorf("body %q, want empty", body)
				}
			},
		},
		{path: "/no/such/page/", status: http.StatusNotFound, text: []string{"There is no page at this address."}},
		{path: "/users/awdeorio", status: http.StatusTemporaryRedirect, location: "/users/awdeorio/", skipNavCheck: true},
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "awdeorio")
		for _, tt := range tests {
			t.Run(strings.ReplaceAll(tt.path, "/", "_"), func(t *testing.T) {
				res := c.with(t).get(tt.path)
				if res.Status != tt.status || res.Location != tt.location {
					t.Fatalf("GET %s: status %d to %q, want %d to %q\n%s", tt.path, res.Status, res.Location, tt.status, tt.location, res.Body)
				}
				if tt.status >= 300 && tt.status < 400 || tt.skipNavCheck {
					return
				}
				if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q, want HTML", ct)
				}
				text, ls, is := pageText(res.Body), links(res.Body), srcs(res.Body)
				// The nav bar of every page, and no stack traces ever.
				for _, l := range []string{"/", "/explore/", "/users/awdeorio/"} {
					if !slices.Contains(ls, l) {
						t.Errorf("no link to %s (nav bar)", l)
					}
				}
				if strings.Contains(res.Body, "goroutine ") || strings.Contains(res.Body, ".go:") {
					t.Errorf("page shows internals:\n%s", res.Body)
				}
				for _, s := range tt.text {
					if !strings.Contains(text, s) {
						t.Errorf("text lacks %q:\n%s", s, text)
					}
				}
				for _, s := range tt.notText {
					if strings.Contains(text, s) {
						t.Errorf("text has %q:\n%s", s, text)
					}
				}
				for _, l := range tt.links {
					if !slices.Contains(ls, l) {
						t.Errorf("no link to %s in %v", l, ls)
					}
				}
				for _, l := range tt.notLinks {
					if slices.Contains(ls, l) {
						t.Errorf("link to %s", l)
					}
				}
				for _, s := range tt.imgs {
					if !slices.Contains(is, s) {
						t.Errorf("no image %s in %v", s, is)
					}
				}
				for _, s := range tt.notImgs {
					if slices.Contains(is, s) {
						t.Errorf("image %s", s)
					}
				}
				if tt.check != nil {
					tt.check(t, res.Body)
				}
			})
		}
	})
}

// TestNavBar checks SPEC §3's nav bar on a page: links to /, /explore/ and
// the logname's page labelled with the logname, which appears nowhere else
// in it, and never the words "following" or "login".
func TestNavBar(t *testing.T) {
	t.Parallel()
	navRE := regexp.MustCompile(`(?s)<nav\b.*?</nav>`)
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "jflinn")
		for _, path := range []string{"/", "/users/jflinn/", "/users/awdeorio/following/", "/explore/", "/posts/1/", "/accounts/edit/", "/posts/999/"} {
			body := c.get(path).Body
			nav := navRE.FindString(body)
			if nav == "" {
				t.Fatalf("%s: no <nav>", path)
			}
			ls := links(nav)
			if !slices.Equal(ls, []string{"/", "/explore/", "/users/jflinn/"}) {
				t.Errorf("%s: nav links %v, want /, /explore/, /users/jflinn/", path, ls)
			}
			text := strings.ToLower(pageText(nav))
			if strings.Count(text, "jflinn") != 1 || strings.Contains(text, "following") || strings.Contains(text, "login") {
				t.Errorf("%s: nav text %q: want the logname once and neither \"following\" nor \"login\"", path, text)
			}
		}
	})
}

// TestFeedPaging checks the feed's first page and its link to the API's
// next page once there are more than ten posts.
func TestFeedPaging(t *testing.T) {
	t.Parallel()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "awdeorio")
		img := pngImage(t)
		for range 9 {
			if res := c.submit("/posts/", map[string]string{"operation": "create"}, &upload{"p.png", img}); res.Status != http.StatusFound {
				t.Fatalf("upload: status %d\n%s", res.Status, res.Body)
			}
		}
		// awdeorio's feed: sample posts 1, 2, 3 and the new 5…13.
		body := c.get("/").Body
		ids := regexp.MustCompile(`<article class="post" data-postid="(\d+)"`).FindAllStringSubmatch(body, -1)
		var got []string
		for _, m := range ids {
			got = append(got, m[1])
		}
		want := []string{"13", "12", "11", "10", "9", "8", "7", "6", "5", "3"}
		if !slices.Equal(got, want) {
			t.Errorf("feed posts %v, want %v", got, want)
		}
		if !strings.Contains(body, `data-next="/api/v1/posts/?size=10&amp;page=1&amp;postid_lte=13"`) {
			t.Errorf("no data-next for page 1 pinned to post 13:\n%s", body[:min(len(body), 1500)])
		}
	})
}
