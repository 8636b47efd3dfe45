package api_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/testenv"
)

// postids lists the ids of a feed page's results, checking each entry's
// shape on the way.
func postids(page map[string]any) []any {
	ids := []any{}
	for _, r := range page["results"].([]any) {
		e := r.(map[string]any)
		ids = append(ids, e["postid"])
		if want := fmt.Sprintf("/api/v1/posts/%v/", e["postid"]); e["url"] != want || len(e) != 2 {
			ids = append(ids, fmt.Sprintf("bad entry %v", e))
		}
	}
	return ids
}

func TestFeedPages(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		// awdeorio's feed is 3, 2, 1: own posts 1 and 3, and jflinn's 2.
		cases := []struct {
			name, path string
			auth       as
			ids        []any
			next       string
		}{
			{"default", "/api/v1/posts/", awdeorio, []any{3.0, 2.0, 1.0}, ""},
			{"empty query", "/api/v1/posts/?", awdeorio, []any{3.0, 2.0, 1.0}, ""},
			{"other user", "/api/v1/posts/", jag, []any{4.0}, ""},
			{"size 1", "/api/v1/posts/?size=1", awdeorio, []any{3.0}, "/api/v1/posts/?size=1&page=1&postid_lte=3"},
			{"size 2", "/api/v1/posts/?size=2", awdeorio, []any{3.0, 2.0}, "/api/v1/posts/?size=2&page=1&postid_lte=3"},
			{"partial page", "/api/v1/posts/?size=2&page=1&postid_lte=3", awdeorio, []any{1.0}, ""},
			// A page of exactly size results links on even if nothing follows.
			{"exact page", "/api/v1/posts/?size=3", awdeorio, []any{3.0, 2.0, 1.0}, "/api/v1/posts/?size=3&page=1&postid_lte=3"},
			{"after exact page", "/api/v1/posts/?size=3&page=1&postid_lte=3", awdeorio, []any{}, ""},
			{"bound", "/api/v1/posts/?postid_lte=2", awdeorio, []any{2.0, 1.0}, ""},
			{"bound with full page", "/api/v1/posts/?size=1&postid_lte=2", awdeorio, []any{2.0}, "/api/v1/posts/?size=1&page=1&postid_lte=2"},
			{"bound above newest", "/api/v1/posts/?size=1&postid_lte=1000", awdeorio, []any{3.0}, "/api/v1/posts/?size=1&page=1&postid_lte=1000"},
			{"bound below every post", "/api/v1/posts/?postid_lte=0", awdeorio, []any{}, ""},
			// Without a bound, a later page is read against the newest post.
			{"later page without bound", "/api/v1/posts/?size=1&page=1", awdeorio, []any{2.0}, "/api/v1/posts/?size=1&page=2&postid_lte=3"},
			{"page past the end", "/api/v1/posts/?page=5", awdeorio, []any{}, ""},
			{"parameters in any order", "/api/v1/posts/?postid_lte=3&page=0&size=2", awdeorio, []any{3.0, 2.0}, "/api/v1/posts/?size=2&page=1&postid_lte=3"},
			{"unknown parameter", "/api/v1/posts/?size=1&color=red", awdeorio, []any{3.0}, "/api/v1/posts/?size=1&page=1&postid_lte=3"},
			{"escaped digits", "/api/v1/posts/?size=%31", awdeorio, []any{3.0}, "/api/v1/posts/?size=1&page=1&postid_lte=3"},
			{"largest size", "/api/v1/posts/?size=100", awdeorio, []any{3.0, 2.0, 1.0}, ""},
			{"huge offset", "/api/v1/posts/?size=100&page=92233720368547758", awdeorio, []any{}, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := call(t, app, "GET", c.path, c.auth, "").expect(t, http.StatusOK).json(t)
				if ids := postids(got); !reflect.DeepEqual(ids, c.ids) {
					t.Errorf("results %v, want %v", ids, c.ids)
				}
				if got["next"] != c.next {
					t.Errorf("next %q, want %q", got["next"], c.next)
				}
				// The path and query exactly as sent, without "?" when empty.
				wantURL := c.path
				if wantURL[len(wantURL)-1] == '?' {
					wantURL = wantURL[:len(wantURL)-1]
				}
				if got["url"] != wantURL {
					t.Errorf("url %q, want %q", got["url"], wantURL)
				}
				if len(got) != 3 {
					t.Errorf("keys %v, want next, results, url", got)
				}
			})
		}
	})
}

func TestFeedBadParameters(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		for _, q := range []string{
			"size=0", "size=-1", "size=abc", "size=1.5", "size=", "size=1e3", "size=0x10",
			"size=99999999999999999999",
			// Above MaxPageSize (100): one call may not read a whole feed.
			"size=101", "size=9223372036854775807", "size=4611686018427387903&page=2",
			"page=-1", "page=x", "page=", "page=1.0",
			"postid_lte=-1", "postid_lte=x", "postid_lte=", "postid_lte=2.5",
			"postid_lte=99999999999999999999",
			"size=10&page=-3&postid_lte=3",
			// page*size, the rows to skip, would overflow.
			"size=9223372036854775807&page=2",
		} {
			call(t, app, "GET", "/api/v1/posts/?"+q, awdeorio, "").expect(t, http.StatusBadRequest)
		}
	})
}

// Walking the feed by next links sees every post that existed when the
// walk began exactly once, however many posts are created meanwhile.
func TestFeedWalkIgnoresNewPosts(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		ctx := context.Background()
		newPost := func(owner string) int64 {
			t.Helper()
			id, err := app.Store.CreatePost(ctx, owner, fmt.Sprintf("%032x.jpg", time.Now().UnixNano()))
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		// 26 new posts on jflinn's feed (own, awdeorio's and michjc's) and 2
		// elsewhere, plus 3 sample posts: 29 posts, pages of 5, …, 5, 4.
		want := []any{}
		for i := range 28 {
			owner := []string{"jflinn", "awdeorio", "michjc"}[i%3]
			if i%10 == 9 {
				owner = "jag" // not followed by jflinn
			}
			if id := newPost(owner); owner != "jag" {
				want = append(want, float64(id))
			}
		}
		want = append(want, 3.0, 2.0, 1.0) // sample posts jflinn sees
		slices.SortFunc(want, func(a, b any) int { return int(b.(float64) - a.(float64)) })

		var seen []any
		path := "/api/v1/posts/?size=5"
		for pages := 0; path != ""; pages++ {
			if pages > 10 {
				t.Fatalf("still paging after %d pages", pages)
			}
			got := call(t, app, "GET", path, jflinn, "").expect(t, http.StatusOK).json(t)
			seen = append(seen, postids(got)...)
			path = got["next"].(string)
			// Posts appear on the feed between pages.
			newPost("jflinn")
			newPost("awdeorio")
		}
		if !reflect.DeepEqual(seen, want) {
			t.Errorf("walk saw %v\nwant     %v", seen, want)
		}
		// A fresh first page does show the new posts.
		got := call(t, app, "GET", "/api/v1/posts/?size=1", jflinn, "").expect(t, http.StatusOK).json(t)
		if first := postids(got)[0].(float64); first <= want[0].(float64) {
			t.Errorf("fresh first page starts at %v, want a post newer than %v", first, want[0])
		}
	})
}

func TestPostDetail(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)

		got := call(t, app, "GET", "/api/v1/posts/3/", awdeorio, "").expect(t, http.StatusOK).json(t)
		created, ok := got["created"].(string)
		if _, err := time.Parse(time.DateTime, created); !ok || err != nil {
			t.Errorf("created %q is not YYYY-MM-DD HH:MM:SS", got["created"])
		} else if at, _ := time.Parse(time.DateTime, created); time.Since(at).Abs() > time.Hour {
			// Sample rows are created "now" in UTC; a zone slip shows as hours.
			t.Errorf("created %s is not the current UTC time %s", created, time.Now().UTC().Format(time.DateTime))
		}
		got["created"] = "checked"
		jsonEqual(t, got, `{
			"comments": [
				{"commentid": 1, "lognameOwnsThis": true, "owner": "awdeorio", "ownerShowUrl": "/users/awdeorio/", "text": "#chickensofinstagram", "url": "/api/v1/comments/1/"},
				{"commentid": 2, "lognameOwnsThis": false, "owner": "jflinn", "ownerShowUrl": "/users/jflinn/", "text": "I <3 chickens", "url": "/api/v1/comments/2/"},
				{"commentid": 3, "lognameOwnsThis": false, "owner": "michjc", "ownerShowUrl": "/users/michjc/", "text": "Cute overload!", "url": "/api/v1/comments/3/"}
			],
			"comments_url": "/api/v1/comments/?postid=3",
			"created": "checked",
			"imgUrl": "/uploads/9887e06812ef434d291e4936417d125cd594b38a.jpg",
			"likes": {"lognameLikesThis": true, "numLikes": 1, "url": "/api/v1/likes/6/"},
			"owner": "awdeorio",
			"ownerImgUrl": "/uploads/e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg",
			"ownerShowUrl": "/users/awdeorio/",
			"postShowUrl": "/posts/3/",
			"postid": 3,
			"url": "/api/v1/posts/3/"
		}`)

		// Another viewer: no like of theirs (url null), owns only their comment.
		got = call(t, app, "GET", "/api/v1/posts/3/", jflinn, "").expect(t, http.StatusOK).json(t)
		jsonEqual(t, got["likes"].(map[string]any), `{"lognameLikesThis": false, "numLikes": 1, "url": null}`)
		for _, c := range got["comments"].([]any) {
			c := c.(map[string]any)
			if want := c["owner"] == "jflinn"; c["lognameOwnsThis"] != want {
				t.Errorf("comment %v: lognameOwnsThis %v for jflinn", c["commentid"], c["lognameOwnsThis"])
			}
		}

		// Any post can be read, not only those on the viewer's feed; a post
		// without comments has an empty list, not null.
		got = call(t, app, "GET", "/api/v1/posts/4/", jflinn, "").expect(t, http.StatusOK).json(t)
		jsonEqual(t, got["likes"].(map[string]any), `{"lognameLikesThis": false, "numLikes": 0, "url": null}`)
		if got["owner"] != "jag" || got["ownerImgUrl"] != "/uploads/73ab33bd357c3fd42292487b825880958c595655.jpg" {
			t.Errorf("post 4: %v", got)
		}
		id, err := app.Store.CreatePost(context.Background(), "jag", "0123456789abcdef0123456789abcdef.png")
		if err != nil {
			t.Fatal(err)
		}
		raw := call(t, app, "GET", "/api/v1/posts/"+strconv.FormatInt(id, 10)+"/", jflinn, "").expect(t, http.StatusOK)
		if got := raw.json(t); !reflect.DeepEqual(got["comments"], []any{}) {
			t.Errorf("comments of a new post: %s", raw.body)
		}

		for _, path := range []string{
			"/api/v1/posts/1000/", "/api/v1/posts/0/", "/api/v1/posts/-1/", "/api/v1/posts/abc/",
			"/api/v1/posts/1.0/", "/api/v1/posts/99999999999999999999/", "/api/v1/posts/%20/",
		} {
			call(t, app, "GET", path, awdeorio, "").expect(t, http.StatusNotFound)
		}
	})
}
