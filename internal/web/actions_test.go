package web_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// actionCase is one form submission of SPEC §4 on a fresh app.
type actionCase struct {
	name   string
	user   string // logged in as; "" for a visitor
	path   string
	fields map[string]string
	file   *upload
	// urlencoded sends the fields as application/x-www-form-urlencoded,
	// the way scripts (and the classic test suites) send forms without a
	// file, instead of multipart/form-data.
	urlencoded bool
	// token is the csrf_token sent: "" for the session's own, "-" for
	// none; tokenFrom, when set, gives it instead.
	token     string
	tokenFrom func(t *testing.T, app *testenv.App, c *client) string
	opts      []testenv.AppOption
	status    int
	location  string
	// check looks at the data afterwards. Failing requests (4xx) are also
	// checked to have changed nothing at all.
	check func(t *testing.T, app *testenv.App, c *client)
}

// runActions runs each case on each backend, with the uploads in a
// directory and in S3. A case that succeeds changes
// data, so it gets an app of its own and runs in parallel with the others.
// A case that fails must change nothing (which is checked), so those share
// one app per backend, one after the other, each starting from the sample
// data as the last one left it: untouched. That keeps the suite fast.
func runActions(t *testing.T, cases []actionCase) {
	t.Helper()
	testenv.ForEachBackendAndStore(t, func(t *testing.T, backend, store string) {
		t.Parallel()
		var shared *testenv.App
		clients := map[string]*client{}
		for _, tc := range cases {
			if tc.status < 400 || len(tc.opts) > 0 {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					app := testenv.NewApp(t, backend, append([]testenv.AppOption{testenv.WithUploadStore(store)}, tc.opts...)...)
					c := newClient(t, app)
					if tc.user != "" {
						c.login(tc.user, passwords[tc.user])
					}
					runAction(t, app, c, tc)
				})
				continue
			}
			if shared == nil {
				shared = testenv.NewApp(t, backend, testenv.WithUploadStore(store))
			}
			t.Run(tc.name, func(t *testing.T) {
				c := clients[tc.user]
				if c == nil {
					c = newClient(t, shared)
					if tc.user != "" {
						c.login(tc.user, passwords[tc.user])
					}
					clients[tc.user] = c
				}
				runAction(t, shared, c.with(t), tc)
			})
		}
	})
}

func runAction(t *testing.T, app *testenv.App, c *client, tc actionCase) {
	t.Helper()
	fields := map[string]string{}
	if tc.user != "" {
		fields["csrf_token"] = c.token()
	}
	if tc.token != "" {
		fields["csrf_token"] = tc.token
	}
	if tc.tokenFrom != nil {
		fields["csrf_token"] = tc.tokenFrom(t, app, c)
	}
	for k, v := range tc.fields {
		fields[k] = v
	}
	if tc.token == "-" {
		delete(fields, "csrf_token")
	}
	before := snapshot(t, app)
	var res response
	if tc.urlencoded {
		res = c.postURLEncoded(tc.path, fields)
	} else {
		res = c.post(tc.path, fields, tc.file)
	}
	if res.Status != tc.status || res.Location != tc.location {
		t.Fatalf("POST %s %v: status %d to %q, want %d to %q\n%s",
			tc.path, tc.fields, res.Status, res.Location, tc.status, tc.location, res.Body)
	}
	if res.Status >= 400 {
		if after := snapshot(t, app); after != before {
			t.Errorf("a failed request changed data or files:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("error page Content-Type %q, want HTML", ct)
		}
		if text := pageText(res.Body); len(text) < 20 {
			t.Errorf("error page without a readable message: %q", text)
		}
	}
	if tc.check != nil {
		tc.check(t, app, c)
	}
}

func post(t *testing.T, app *testenv.App, id int64, logname string) (storage.Post, bool) {
	t.Helper()
	p, err := app.Store.Post(context.Background(), id, logname)
	if errors.Is(err, storage.ErrNotFound) {
		return p, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return p, true
}

func wantLikes(id int64, logname string, likes int, likes2 bool) func(*testing.T, *testenv.App, *client) {
	return func(t *testing.T, app *testenv.App, _ *client) {
		p, _ := post(t, app, id, logname)
		if p.Likes != likes || (p.LognameLikeID != 0) != likes2 {
			t.Errorf("post %d: %d likes, %s likes it: %v; want %d, %v", id, p.Likes, logname, p.LognameLikeID != 0, likes, likes2)
		}
	}
}

func fileExists(t *testing.T, app *testenv.App, name string) bool {
	t.Helper()
	return app.HasUpload(t, name)
}

func follows(t *testing.T, app *testenv.App, follower, followee string) bool {
	t.Helper()
	p, err := app.Store.Profile(context.Background(), followee, follower)
	if err != nil {
		t.Fatal(err)
	}
	return p.LognameFollows
}

func TestLikes(t *testing.T) {
	t.Parallel()
	runActions(t, []actionCase{
		{name: "like", user: "jflinn", path: "/likes/?target=/", fields: map[string]string{"operation": "like", "postid": "2"},
			status: 302, location: "/", check: wantLikes(2, "jflinn", 3, true)},
		{name: "like default target", user: "jflinn", path: "/likes/", fields: map[string]string{"operation": "like", "postid": "3"},
			status: 302, location: "/", check: wantLikes(3, "jflinn", 2, true)},
		{name: "like other target", user: "jflinn", path: "/likes/?target=/posts/2/", fields: map[string]string{"operation": "like", "postid": "2"},
			status: 302, location: "/posts/2/"},
		{name: "like a post of someone not followed", user: "awdeorio", path: "/likes/?target=/", fields: map[string]string{"operation": "like", "postid": "4"},
			status: 302, location: "/", check: wantLikes(4, "awdeorio", 1, true)},
		{name: "like url-encoded", user: "jflinn", path: "/likes/?target=/", fields: map[string]string{"operation": "like", "postid": "2"},
			urlencoded: true, status: 302, location: "/", check: wantLikes(2, "jflinn", 3, true)},
		{name: "like twice", user: "awdeorio", path: "/likes/?target=/", fields: map[string]string{"operation": "like", "postid": "1"}, status: 409},
		{name: "unlike", user: "awdeorio", path: "/likes/?target=/", fields: map[string]string{"operation": "unlike", "postid": "1"},
			status: 302, location: "/", check: wantLikes(1, "awdeorio", 2, false)},
		{name: "unlike not liked", user: "jflinn", path: "/likes/?target=/", fields: map[string]string{"operation": "unlike", "postid": "2"}, status: 409},
		{name: "like missing post", user: "awdeorio", path: "/likes/", fields: map[string]string{"operation": "like", "postid": "99"}, status: 404},
		{name: "unlike missing post", user: "awdeorio", path: "/likes/", fields: map[string]string{"operation": "unlike", "postid": "99"}, status: 404},
		{name: "postid not a number", user: "awdeorio", path: "/likes/", fields: map[string]string{"operation": "like", "postid": "abc"}, status: 400},
		{name: "postid missing", user: "awdeorio", path: "/likes/", fields: map[string]string{"operation": "like"}, status: 400},
		{name: "unknown operation", user: "awdeorio", path: "/likes/", fields: map[string]string{"operation": "love", "postid": "4"}, status: 400},
		{name: "no operation", user: "awdeorio", path: "/likes/", fields: map[string]string{"postid": "4"}, status: 400},
		{name: "not logged in", path: "/likes/", fields: map[string]string{"operation": "like", "postid": "4"}, status: 403},
		{name: "target off the site", user: "jflinn", path: "/likes/?target=https://evil.example/", fields: map[string]string{"operation": "like", "postid": "2"},
			status: 302, location: "/"},
		{name: "target protocol-relative", user: "jflinn", path: "/likes/?target=//evil.example/", fields: map[string]string{"operation": "like", "postid": "2"},
			status: 302, location: "/"},
	})
}

func TestComments(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 1024)
	runActions(t, []actionCase{
		{name: "create", user: "awdeorio", path: "/comments/?target=/posts/4/", fields: map[string]string{"operation": "create", "postid": "4", "text": "Nice <b>diag</b>"},
			status: 302, location: "/posts/4/", check: func(t *testing.T, app *testenv.App, c *client) {
				p, _ := post(t, app, 4, "awdeorio")
				if len(p.Comments) != 2 || p.Comments[1].Text != "Nice <b>diag</b>" || p.Comments[1].Owner != "awdeorio" || p.Comments[1].CommentID != 8 {
					t.Errorf("comments %+v, want a new comment 8 by awdeorio", p.Comments)
				}
				// Shown as text, never as markup.
				if body := c.get("/posts/4/").Body; !strings.Contains(body, "Nice &lt;b&gt;diag&lt;/b&gt;") {
					t.Error("comment text not escaped on the post page")
				}
			}},
		{name: "create default target", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1", "text": "hi"},
			status: 302, location: "/"},
		{name: "create 1024 characters", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1", "text": long},
			status: 302, location: "/"},
		{name: "create too long", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1", "text": long + "x"}, status: 400},
		{name: "create empty", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1", "text": ""}, status: 400},
		{name: "create blank", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1", "text": "  \n "}, status: 400},
		{name: "create no text field", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1"}, status: 400},
		{name: "create missing post", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "99", "text": "hi"}, status: 404},
		{name: "create postid not a number", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1 OR 1=1", "text": "hi"}, status: 400},
		// PostgreSQL cannot store NUL or invalid UTF-8: a bad request, not a failure.
		{name: "create with NUL", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1", "text": "a\x00b"}, status: 400},
		{name: "create invalid UTF-8", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1", "text": "a\xffb"}, status: 400},
		{name: "delete own", user: "awdeorio", path: "/comments/?target=/posts/3/", fields: map[string]string{"operation": "delete", "commentid": "1"},
			status: 302, location: "/posts/3/", check: func(t *testing.T, app *testenv.App, _ *client) {
				if _, err := app.Store.Comment(context.Background(), 1); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("comment 1 still there: %v", err)
				}
			}},
		{name: "delete someone else's", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "delete", "commentid": "2"}, status: 403},
		{name: "delete missing", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "delete", "commentid": "99"}, status: 404},
		{name: "delete commentid not a number", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "delete", "commentid": "x"}, status: 400},
		{name: "unknown operation", user: "awdeorio", path: "/comments/", fields: map[string]string{"operation": "edit", "commentid": "1"}, status: 400},
		{name: "not logged in", path: "/comments/", fields: map[string]string{"operation": "create", "postid": "1", "text": "hi"}, status: 403},
	})
}

func TestFollowing(t *testing.T) {
	t.Parallel()
	runActions(t, []actionCase{
		{name: "follow", user: "awdeorio", path: "/following/?target=/users/jag/", fields: map[string]string{"operation": "follow", "username": "jag"},
			status: 302, location: "/users/jag/", check: func(t *testing.T, app *testenv.App, _ *client) {
				if !follows(t, app, "awdeorio", "jag") {
					t.Error("awdeorio does not follow jag")
				}
			}},
		{name: "follow default target", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "follow", "username": "jag"}, status: 302, location: "/"},
		{name: "follow again", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "follow", "username": "jflinn"}, status: 409},
		{name: "unfollow", user: "awdeorio", path: "/following/?target=/explore/", fields: map[string]string{"operation": "unfollow", "username": "jflinn"},
			status: 302, location: "/explore/", check: func(t *testing.T, app *testenv.App, _ *client) {
				if follows(t, app, "awdeorio", "jflinn") {
					t.Error("awdeorio still follows jflinn")
				}
			}},
		{name: "unfollow not followed", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "unfollow", "username": "jag"}, status: 409},
		{name: "follow missing user", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "follow", "username": "nobody"}, status: 404},
		{name: "unfollow missing user", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "unfollow", "username": "nobody"}, status: 404},
		// Names no user can have: no such user, whatever the database makes of them.
		{name: "follow name too long", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "follow", "username": strings.Repeat("x", 21)}, status: 404},
		{name: "follow name with NUL", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "follow", "username": "a\x00b"}, status: 404},
		{name: "unfollow name with NUL", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "unfollow", "username": "a\x00b"}, status: 404},
		{name: "follow name invalid UTF-8", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "follow", "username": "a\xffb"}, status: 404},
		{name: "follow oneself", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "follow", "username": "awdeorio"}, status: 400},
		{name: "no username", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "follow"}, status: 400},
		{name: "unknown operation", user: "awdeorio", path: "/following/", fields: map[string]string{"operation": "block", "username": "jag"}, status: 400},
		{name: "not logged in", path: "/following/", fields: map[string]string{"operation": "follow", "username": "jag"}, status: 403},
	})
}

var uploadName = regexp.MustCompile(`^[0-9a-f]{32}\.(png|jpg|gif|webp)$`)

func TestPosts(t *testing.T) {
	t.Parallel()
	img := pngImage(t)
	runActions(t, []actionCase{
		{name: "create", user: "awdeorio", path: "/posts/?target=/users/awdeorio/", fields: map[string]string{"operation": "create"},
			file: &upload{"Holiday.PNG", img}, status: 302, location: "/users/awdeorio/",
			check: func(t *testing.T, app *testenv.App, c *client) {
				p, ok := post(t, app, 5, "awdeorio")
				if !ok || p.Owner != "awdeorio" || !uploadName.MatchString(p.Filename) || !strings.HasSuffix(p.Filename, ".png") {
					t.Fatalf("post 5 = %+v, want awdeorio's with a new random .png name", p)
				}
				res := c.get("/uploads/" + p.Filename)
				if res.Status != 200 || !bytes.Equal([]byte(res.Body), img) || res.Header.Get("Content-Type") != "image/png" {
					t.Errorf("GET the upload: status %d, type %q, same bytes %v", res.Status, res.Header.Get("Content-Type"), res.Body == string(img))
				}
			}},
		{name: "create default target", user: "jflinn", path: "/posts/", fields: map[string]string{"operation": "create"},
			file: &upload{"x.png", img}, status: 302, location: "/users/jflinn/"},
		{name: "create not an image", user: "awdeorio", path: "/posts/", fields: map[string]string{"operation": "create"},
			file: &upload{"evil.png", []byte("<html><script>alert(1)</script></html>")}, status: 400},
		{name: "create empty file", user: "awdeorio", path: "/posts/", fields: map[string]string{"operation": "create"},
			file: &upload{"empty.png", nil}, status: 400},
		{name: "create without a file", user: "awdeorio", path: "/posts/", fields: map[string]string{"operation": "create"}, status: 400},
		{name: "create too large", user: "awdeorio", path: "/posts/", fields: map[string]string{"operation": "create"},
			file: &upload{"big.png", append(slices.Clone(img), make([]byte, 4096)...)}, opts: []testenv.AppOption{testenv.WithMaxUpload(2048)}, status: 413},
		{name: "create body far too large", user: "awdeorio", path: "/posts/", fields: map[string]string{"operation": "create"},
			file: &upload{"big.png", append(slices.Clone(img), make([]byte, 200<<10)...)}, opts: []testenv.AppOption{testenv.WithMaxUpload(2048)}, status: 413},
		{name: "delete own", user: "awdeorio", path: "/posts/?target=/users/awdeorio/", fields: map[string]string{"operation": "delete", "postid": "3"},
			status: 302, location: "/users/awdeorio/", check: func(t *testing.T, app *testenv.App, _ *client) {
				if _, ok := post(t, app, 3, "awdeorio"); ok {
					t.Error("post 3 still there")
				}
				for _, id := range []int64{1, 2, 3} { // its comments, cascaded
					if _, err := app.Store.Comment(context.Background(), id); !errors.Is(err, storage.ErrNotFound) {
						t.Errorf("comment %d of post 3 still there", id)
					}
				}
				if _, err := app.Store.LikeByID(context.Background(), 6); !errors.Is(err, storage.ErrNotFound) {
					t.Error("like 6 of post 3 still there")
				}
				if fileExists(t, app, post3Image) {
					t.Error("post 3's image file still there")
				}
				if !fileExists(t, app, post1Image) {
					t.Error("post 1's image file gone")
				}
			}},
		{name: "delete default target", user: "jag", path: "/posts/", fields: map[string]string{"operation": "delete", "postid": "4"}, status: 302, location: "/users/jag/"},
		{name: "delete someone else's", user: "awdeorio", path: "/posts/", fields: map[string]string{"operation": "delete", "postid": "2"}, status: 403},
		{name: "delete missing", user: "awdeorio", path: "/posts/", fields: map[string]string{"operation": "delete", "postid": "99"}, status: 404},
		{name: "delete postid not a number", user: "awdeorio", path: "/posts/", fields: map[string]string{"operation": "delete", "postid": "3.0"}, status: 400},
		{name: "unknown operation", user: "awdeorio", path: "/posts/", fields: map[string]string{"operation": "edit", "postid": "3"}, status: 400},
		{name: "not logged in", path: "/posts/", fields: map[string]string{"operation": "create"}, file: &upload{"x.png", img}, status: 403},
	})
}

// TestPostIDsNeverReused checks SPEC §1 through the site: a deleted post's
// id is not given to the next one.
func TestPostIDsNeverReused(t *testing.T) {
	t.Parallel()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "jag")
		img := pngImage(t)
		if res := c.submit("/posts/", map[string]string{"operation": "create"}, &upload{"a.png", img}); res.Status != 302 {
			t.Fatalf("create: %d", res.Status)
		}
		if res := c.submit("/posts/", map[string]string{"operation": "delete", "postid": "5"}, nil); res.Status != 302 {
			t.Fatalf("delete 5: %d", res.Status)
		}
		if res := c.submit("/posts/", map[string]string{"operation": "create"}, &upload{"b.png", img}); res.Status != 302 {
			t.Fatalf("create: %d", res.Status)
		}
		if _, ok := post(t, app, 6, "jag"); !ok {
			t.Error("the post after deleted post 5 is not post 6")
		}
	})
}
