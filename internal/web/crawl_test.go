package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// TestCrawl logs in as awdeorio and follows every link from /, the way the
// classic tests do: each answers 200 (or one of the documented redirects),
// every link's path ends in /, every image, stylesheet and script loads,
// and every page (with the visitors' and the error pages) is valid HTML5
// by the Nu HTML Checker.
func TestCrawl(t *testing.T) {
	t.Parallel()
	// Pages that redirect a logged-in user (SPEC §3).
	redirects := map[string]string{"/accounts/login/": "/", "/accounts/create/": "/accounts/edit/"}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "awdeorio")
		var pages []testenv.HTMLPage
		seen := map[string]bool{"/": true}
		assets := map[string]bool{}
		queue := []string{"/"}
		for len(queue) > 0 {
			path := queue[0]
			queue = queue[1:]
			res := c.get(path)
			if want, ok := redirects[path]; ok {
				if res.Status != http.StatusFound || res.Location != want {
					t.Errorf("GET %s: status %d to %q, want 302 to %s", path, res.Status, res.Location, want)
				}
				continue
			}
			if res.Status != http.StatusOK {
				t.Errorf("GET %s: status %d, want 200", path, res.Status)
				continue
			}
			pages = append(pages, testenv.HTMLPage{Name: path, HTML: []byte(res.Body)})
			for _, l := range links(res.Body) {
				u, err := url.Parse(l)
				if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
					t.Errorf("%s links to %q, want a path on this site", path, l)
					continue
				}
				if !strings.HasSuffix(u.Path, "/") {
					t.Errorf("%s links to %q, whose path does not end in /", path, l)
				}
				if !seen[u.Path] {
					seen[u.Path] = true
					queue = append(queue, u.Path)
				}
			}
			for _, a := range append(srcs(res.Body), assetRefs(res.Body)...) {
				assets[a] = true
			}
		}
		for _, want := range []string{"/explore/", "/users/awdeorio/", "/users/jflinn/", "/users/awdeorio/followers/",
			"/users/awdeorio/following/", "/posts/1/", "/posts/3/", "/accounts/edit/", "/accounts/password/", "/accounts/delete/"} {
			if !seen[want] {
				t.Errorf("the crawl never reached %s", want)
			}
		}
		for a := range assets {
			if res := c.get(a); res.Status != http.StatusOK {
				t.Errorf("GET %s (an image, stylesheet or script): status %d", a, res.Status)
			}
		}
		// Pages the crawl cannot reach: a visitor's, and error pages.
		visitor := newClient(t, app)
		for _, path := range []string{"/accounts/login/", "/accounts/create/"} {
			pages = append(pages, testenv.HTMLPage{Name: "visitor " + path, HTML: []byte(visitor.get(path).Body)})
		}
		failedLogin := visitor.tryLogin("awdeorio", "wrong")
		pages = append(pages,
			testenv.HTMLPage{Name: "failed login", HTML: []byte(failedLogin.Body)},
			testenv.HTMLPage{Name: "404", HTML: []byte(c.get("/no/such/page/").Body)},
			testenv.HTMLPage{Name: "visitor 403", HTML: []byte(visitor.get("/uploads/" + awdeorioPhoto).Body)},
			testenv.HTMLPage{Name: "409", HTML: []byte(c.submit("/likes/", map[string]string{"operation": "like", "postid": "1"}, nil).Body)},
			testenv.HTMLPage{Name: "password 401", HTML: []byte(c.submit("/accounts/", map[string]string{"operation": "update_password",
				"password": "chickens", "new_password1": "a", "new_password2": "b"}, nil).Body)},
		)
		t.Run("html5", func(t *testing.T) { testenv.ValidateHTML(t, pages) })
	})
}

// assetRefs are the stylesheets, icons and scripts a page loads.
func assetRefs(body string) []string {
	var out []string
	for _, tag := range linkOrScript.FindAllStringSubmatch(body, -1) {
		a := attrs(tag[1])
		if v := a["href"]; v != "" {
			out = append(out, v)
		}
		if v := a["src"]; v != "" {
			out = append(out, v)
		}
	}
	return slices.Compact(out)
}
