package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// TestUserPagePaging: a user page shows its user's newest posts, a
// screenful at a time, and links the older ones; following the links
// reaches every post once, newest first, and the counts always say all.
func TestUserPagePaging(t *testing.T) {
	t.Parallel()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		const total = 30 // michjc has none in the sample data
		var want []string
		for range total {
			id, err := app.Store.CreatePost(context.Background(), "michjc", post1Image)
			if err != nil {
				t.Fatal(err)
			}
			want = append([]string{strconv.FormatInt(id, 10)}, want...)
		}
		c := loggedIn(t, app, "awdeorio")
		thumb := regexp.MustCompile(`<li><a href="/posts/(\d+)/"><img `)
		more := regexp.MustCompile(`<a class="btn" href="(/users/michjc/\?before=\d+)">More posts</a>`)
		var got []string
		pages := 0
		for path := "/users/michjc/"; path != ""; pages++ {
			if pages > total {
				t.Fatalf("more than %d pages: the links go round", total)
			}
			res := c.get(path)
			if res.Status != http.StatusOK {
				t.Fatalf("GET %s: status %d\n%s", path, res.Status, res.Body)
			}
			if !strings.Contains(pageText(res.Body), fmt.Sprintf("%d posts", total)) {
				t.Errorf("GET %s does not say %d posts", path, total)
			}
			ids := thumb.FindAllStringSubmatch(res.Body, -1)
			if len(ids) == 0 || len(ids) > 12 {
				t.Errorf("GET %s shows %d posts, want 1 to 12", path, len(ids))
			}
			for _, m := range ids {
				got = append(got, m[1])
			}
			path = ""
			if m := more.FindStringSubmatch(res.Body); m != nil {
				path = m[1]
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("posts over %d pages: %v, want %v", pages, got, want)
		}
		if pages != 3 {
			t.Errorf("%d pages, want 3 (12, 12, 6)", pages)
		}

		for _, tc := range []struct {
			query  string
			status int
			text   string
		}{
			{"?before=1", http.StatusOK, "No older posts."},
			{"?before=" + want[0] + "0", http.StatusOK, "More posts"},
			{"?before=0", http.StatusBadRequest, "The before parameter is a post number"},
			{"?before=-3", http.StatusBadRequest, "The before parameter is a post number"},
			{"?before=abc", http.StatusBadRequest, "The before parameter is a post number"},
			{"?before=99999999999999999999", http.StatusBadRequest, "The before parameter is a post number"},
		} {
			res := c.get("/users/michjc/" + tc.query)
			if res.Status != tc.status || !strings.Contains(pageText(res.Body), tc.text) {
				t.Errorf("GET /users/michjc/%s: status %d, want %d with %q\n%s", tc.query, res.Status, tc.status, tc.text, pageText(res.Body))
			}
		}
	})
}
