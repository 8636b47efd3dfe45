package deploytest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/testenv"
)

// TestLiveFeedThroughNginx drives the live feed in headless Chromium
// through nginx in front of three instances: the page, its script and its
// API calls land on different instances, and a like and a comment made in
// the browser are stored.
func TestLiveFeedThroughNginx(t *testing.T) {
	b := testenv.NewBrowser(t)
	cl := newCluster(t, 3, "s3")
	c := newClient(t, cl.URL)
	c.login("awdeorio", "chickens")
	tab := b.NewTab(t, 90*time.Second)
	if err := tab.SetCookie(cl.URL, auth.CookieName, c.cookie(auth.CookieName)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(cl.URL+"/")); err != nil {
		t.Fatalf("open the feed through nginx: %v", err)
	}
	testenv.Wait[bool](t, tab, "the live feed to take over #feed",
		`document.querySelector('#feed[data-live]:not([aria-busy])') !== null`)

	post := `#feed article.post[data-postid="3"]`
	likedBefore := likes(t, cl.DSN, "awdeorio", 3)
	want := "unlike"
	if likedBefore {
		want = "like"
	}
	if err := chromedp.Do(tab.Ctx, chromedp.Click(chromedp.CSS(post+` [data-testid="like-unlike-button"]`))); err != nil {
		t.Fatal(err)
	}
	testenv.Wait[bool](t, tab, "the like button to say "+want, fmt.Sprintf(
		`document.querySelector(%q).textContent.trim() === %q`, post+` [data-testid="like-unlike-button"]`, want))
	if got := likes(t, cl.DSN, "awdeorio", 3); got == likedBefore {
		t.Errorf("after clicking the like button, awdeorio likes post 3: %v, as before", got)
	}

	const text = "through nginx"
	if err := chromedp.Do(tab.Ctx, chromedp.SendKeys(chromedp.CSS(post+` form[data-testid="comment-form"] input`), text+"\r")); err != nil {
		t.Fatal(err)
	}
	testenv.Wait[bool](t, tab, "the new comment to appear", fmt.Sprintf(
		`[...document.querySelectorAll(%q)].some(c => c.textContent === %q)`, post+` [data-testid="comment-text"]`, text))
	var n int
	if err := pgConn(t, cl.DSN).QueryRow(context.Background(),
		"SELECT count(*) FROM comments WHERE owner = 'awdeorio' AND postid = 3 AND text = $1", text).Scan(&n); err != nil || n != 1 {
		t.Errorf("the comment made in the browser: %d in the database (%v), want 1", n, err)
	}
	tab.CheckConsole(t, nil)

	// nginx's access log names the instance of each request: the
	// browser's API calls were spread over them.
	log, err := os.ReadFile(filepath.Join(cl.nginx.prefix, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	upstreams := map[string]bool{}
	for _, line := range strings.Split(string(log), "\n") {
		if m := upstreamField.FindStringSubmatch(line); m != nil && strings.Contains(line, "/api/v1/") {
			upstreams[m[1]] = true
		}
	}
	if len(upstreams) < 2 {
		t.Errorf("the feed's API calls went to %d instance(s), want several:\n%s", len(upstreams), log)
	}
}

var upstreamField = regexp.MustCompile(` upstream=(\S+) `)

// likes reports whether user likes postid, in the database.
func likes(t *testing.T, dsn, user string, postid int) bool {
	t.Helper()
	var n int
	if err := pgConn(t, dsn).QueryRow(context.Background(),
		"SELECT count(*) FROM likes WHERE owner = $1 AND postid = $2", user, postid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}
