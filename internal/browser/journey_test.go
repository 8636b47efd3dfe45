package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestNewUserJourney is what issue #3 promises a person: in a real browser,
// through the site's own forms, sign up with a photo, post a picture,
// follow someone, like and comment in the live feed, delete the post and
// finally the account, with every step landing where it should and nothing
// left behind.
func TestNewUserJourney(t *testing.T) {
	b := testenv.NewBrowser(t)
	var dom domSnapshots
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		s := &session{log: &requestLog{}}
		s.app = testenv.NewApp(t, backend, testenv.WithMiddleware(s.log.middleware(0)))
		s.tab = b.NewTab(t, 2*time.Minute)
		s.dom = &dom
		t.Cleanup(func() { s.tab.CheckConsole(t, nil) })
		ctx := context.Background()
		dir := t.TempDir()
		photo := filepath.Join(dir, "me.JPG")
		picture := filepath.Join(dir, "Sunset.jpeg")
		if err := os.WriteFile(photo, media.Avatar("journey", 200), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(picture, media.Landscape("journey", 300), 0o644); err != nil {
			t.Fatal(err)
		}
		submit := func(what string, actions ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			// The last action submits a form; wait for the page it leads to.
			last := actions[len(actions)-1]
			if err := chromedp.Do(s.tab.Ctx, actions[:len(actions)-1]...); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if _, err := chromedp.Run(s.tab.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, last)); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		at := func(path string) {
			t.Helper()
			if got := js[string](t, s, `location.pathname`); got != path {
				t.Fatalf("the browser is at %s, want %s (page says %q)", got, path, js[string](t, s, `document.body.innerText.slice(0, 200)`))
			}
		}

		// Sign up: the new user lands on their (nearly empty) feed.
		do(t, s, chromedp.Navigate(s.app.URL+"/accounts/create/"))
		submit("sign up",
			chromedp.SetUploadFiles(chromedp.CSS(`input[name=file]`), []string{photo}),
			chromedp.SendKeys(chromedp.CSS(`input[name=fullname]`), "New Person"),
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "newbie"),
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "newbie@example.com"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a good long password"),
			chromedp.Click(chromedp.CSS(`input[name=signup]`)))
		at("/")
		u, err := s.app.Store.User(ctx, "newbie")
		if err != nil {
			t.Fatalf("the new user was not stored: %v", err)
		}
		if filepath.Ext(u.Filename) != ".jpg" || !fileExists(s.app, u.Filename) {
			t.Errorf("profile photo stored as %q (exists %v), want a .jpg in the upload store", u.Filename, fileExists(s.app, u.Filename))
		}

		// Post a picture from the user page.
		do(t, s, chromedp.Navigate(s.app.URL+"/users/newbie/"))
		submit("upload a post",
			chromedp.SetUploadFiles(chromedp.CSS(`input[name=file]`), []string{picture}),
			chromedp.Click(chromedp.CSS(`input[name=create_post]`)))
		at("/users/newbie/")
		wait(t, s, "the user page to show the new post", `document.body.innerText.includes('1 post')`)
		posts, err := s.app.Store.PostsByOwner(ctx, "newbie")
		if err != nil || len(posts) != 1 {
			t.Fatalf("posts of newbie: %v, %v", posts, err)
		}
		mine := posts[0]
		s.dom.keep(t, s)

		// Follow awdeorio from explore: the feed then holds their posts too.
		do(t, s, chromedp.Navigate(s.app.URL+"/explore/"))
		submit("follow awdeorio", chromedp.Click(chromedp.Search(
			`//a[@href="/users/awdeorio/"]/ancestor::*[.//input[@name="follow"]][1]//input[@name="follow"]`)))
		do(t, s, chromedp.Navigate(s.app.URL+"/"))
		s.waitLive(t)
		if n := js[int](t, s, postLinks); n != 3 {
			t.Errorf("after following awdeorio the feed shows %d posts, want 3 (own + awdeorio's two)", n)
		}

		// Like and comment in the live feed, one request each.
		button := post(int(mine.PostID)) + ` [data-testid="like-unlike-button"]`
		do(t, s, chromedp.Click(chromedp.CSS(button)))
		waitText(t, s, post(int(mine.PostID))+` .post-likes`, "1 like")
		do(t, s, chromedp.SendKeys(chromedp.CSS(post(int(mine.PostID))+` [data-testid="comment-form"] input`), "my first post!\r"))
		wait(t, s, "the comment to appear", fmt.Sprintf(`[...document.querySelectorAll(%q)].some(e => e.textContent === 'my first post!')`,
			post(int(mine.PostID))+` [data-testid="comment-text"]`))
		s.expectCount(t, "POST", "/api/v1/likes/", 1)
		s.expectCount(t, "POST", "/api/v1/comments/", 1)
		s.dom.keep(t, s)

		// Delete the post from its page: back to the user page, file gone.
		do(t, s, chromedp.Navigate(fmt.Sprintf("%s/posts/%d/", s.app.URL, mine.PostID)))
		submit("delete the post", chromedp.Click(chromedp.CSS(`input[value="delete this post"]`)))
		at("/users/newbie/")
		wait(t, s, "the user page to have no posts", `document.body.innerText.includes('No posts yet.')`)
		if fileExists(s.app, mine.Filename) {
			t.Errorf("the deleted post's picture %s is still stored", mine.Filename)
		}

		// Delete the account: signed out onto the sign-up page, nothing left.
		do(t, s, chromedp.Navigate(s.app.URL+"/accounts/delete/"))
		submit("delete the account", chromedp.Click(chromedp.CSS(`input[name=delete]`)))
		at("/accounts/create/")
		if _, err := s.app.Store.User(ctx, "newbie"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the deleted user is still stored: %v", err)
		}
		if fileExists(s.app, u.Filename) {
			t.Errorf("the deleted user's photo %s is still stored", u.Filename)
		}
		do(t, s, chromedp.Navigate(s.app.URL+"/"))
		at("/accounts/login/")
	})
	t.Run("html5", func(t *testing.T) { testenv.ValidateHTML(t, dom.pages) })
}

func fileExists(a *testenv.App, name string) bool {
	f, err := a.Media.Open(context.Background(), name)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
