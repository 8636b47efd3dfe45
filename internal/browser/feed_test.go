// Package browser holds insta485's real-browser tests: the live feed of
// SPEC §6 driven in headless Chromium against a whole running insta485, on
// every storage backend, with a fast API and with one slowed down to 0.5 s
// per call.
package browser

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// slowAPI is how long every API response is held back in the slow runs.
const slowAPI = 500 * time.Millisecond

// timezone is where the browser pretends to be, so that a timestamp read
// as local time instead of UTC shows up as hours off.
const timezone = "Asia/Kolkata"

//go:embed fakeclock.js
var fakeClock string

// TestFeed runs every flow of the live feed on each backend, with a fast
// and a slow API, sharing one Chromium.
func TestFeed(t *testing.T) {
	b := testenv.NewBrowser(t)
	var dom domSnapshots
	flows := []struct {
		name string
		fn   func(t *testing.T, s *session)
	}{
		{"login-form", testLoginForm},
		{"loads", testLoads},
		{"like", testLike},
		{"double-click", testDoubleClick},
		{"comment", testComment},
		{"api-error", testAPIError},
		{"empty-feed", testEmptyFeed},
		{"infinite-scroll", testInfiniteScroll},
		{"scroll-error", testScrollError},
		{"timestamps", testTimestamps},
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		for _, speed := range []struct {
			name  string
			delay time.Duration
		}{{"fast", 0}, {"slow", slowAPI}} {
			t.Run(speed.name, func(t *testing.T) {
				for _, f := range flows {
					t.Run(f.name, func(t *testing.T) {
						s := newSession(t, b, backend, speed.delay)
						s.dom = &dom
						f.fn(t, s)
					})
				}
			})
		}
	})
	// One run of the checker for every page the flows kept: Java takes
	// seconds to start.
	t.Run("html5", func(t *testing.T) {
		testenv.ValidateHTML(t, dom.pages)
	})
}

// domSnapshots are the pages, as the script left them, that the flows keep
// for the HTML checker.
type domSnapshots struct {
	mu    sync.Mutex
	pages []testenv.HTMLPage
}

// keep snapshots the page's DOM under the test's name. The DOM has no
// doctype in outerHTML; the page does.
func (d *domSnapshots) keep(t *testing.T, s *session) {
	t.Helper()
	dom := js[string](t, s, `'<!DOCTYPE html>\n' + document.documentElement.outerHTML`)
	d.mu.Lock()
	d.pages = append(d.pages, testenv.HTMLPage{Name: t.Name(), HTML: []byte(dom)})
	d.mu.Unlock()
}

// requestLog counts the API requests the server receives.
type requestLog struct {
	mu   sync.Mutex
	reqs []string // "METHOD /path?query", in order of arrival
	// failOnce holds request URIs to answer with a 503 the first time.
	failOnce map[string]bool
}

// middleware records each API request as it arrives and then, when delay
// is set, holds it back that long.
func (l *requestLog) middleware(delay time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				l.mu.Lock()
				l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
				fail := l.failOnce[r.URL.RequestURI()]
				delete(l.failOnce, r.URL.RequestURI())
				l.mu.Unlock()
				if fail {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					fmt.Fprint(w, `{"message": "Service Unavailable", "status_code": 503}`)
					return
				}
				if delay > 0 {
					select {
					case <-time.After(delay):
					case <-r.Context().Done():
						return
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// failNext makes the next request for uri fail with a 503.
func (l *requestLog) failNext(uri string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failOnce == nil {
		l.failOnce = map[string]bool{}
	}
	l.failOnce[uri] = true
}

// matching returns the requests of method whose path (without the query)
// is path, or starts with path when path ends in "*".
func (l *requestLog) matching(method, path string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reqs {
		m, uri, _ := strings.Cut(r, " ")
		p, _, _ := strings.Cut(uri, "?")
		if m != method {
			continue
		}
		if prefix, ok := strings.CutSuffix(path, "*"); ok && strings.HasPrefix(p, prefix) || p == path {
			out = append(out, uri)
		}
	}
	return out
}

// session is one test's insta485, its request log and a logged-in tab.
type session struct {
	app   *testenv.App
	log   *requestLog
	tab   *testenv.Tab
	delay time.Duration
	dom   *domSnapshots
	// allowConsole, when set, accepts console entries a test causes on
	// purpose (the browser logs every failed request).
	allowConsole func(testenv.ConsoleEntry) bool
}

// newSession starts insta485 on backend with every API response delayed
// by delay, and opens a tab logged in as awdeorio (not yet on any page).
// When the test ends, it fails on anything the page logged as an error.
func newSession(t *testing.T, b *testenv.Browser, backend string, delay time.Duration) *session {
	t.Helper()
	s := &session{log: &requestLog{}, delay: delay}
	s.app = testenv.NewApp(t, backend, testenv.WithMiddleware(s.log.middleware(delay)))
	s.tab = b.NewTab(t, 2*time.Minute)
	t.Cleanup(func() { s.tab.CheckConsole(t, s.allowConsole) })

	cookie := s.app.SessionCookie(t, "awdeorio")
	if err := s.tab.SetCookie(s.app.URL, auth.CookieName, cookie); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(s.tab.Ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: timezone}); err != nil {
		t.Fatal(err)
	}
	return s
}

// open loads the feed and waits until the script has taken it over.
func (s *session) open(t *testing.T) {
	t.Helper()
	if err := chromedp.Do(s.tab.Ctx, chromedp.Navigate(s.app.URL+"/")); err != nil {
		t.Fatalf("open feed: %v", err)
	}
	s.waitLive(t)
}

func (s *session) waitLive(t *testing.T) {
	t.Helper()
	testenv.Wait[bool](t, s.tab, "the live feed to take over #feed",
		`document.querySelector('#feed[data-live]:not([aria-busy])') !== null`)
}

// js evaluates expr in the page.
func js[T any](t *testing.T, s *session, expr string) T {
	t.Helper()
	return testenv.Eval[T](t, s.tab, expr)
}

// wait polls expr until it is truthy.
func wait(t *testing.T, s *session, what, expr string) {
	t.Helper()
	testenv.Wait[chromedp.Void](t, s.tab, what, expr)
}

// do runs chromedp actions in the tab.
func do(t *testing.T, s *session, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(s.tab.Ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// post is the CSS selector of the article of postid.
func post(postid int) string { return fmt.Sprintf(`#feed article.post[data-postid="%d"]`, postid) }

// textOf is a JavaScript expression for the trimmed text of sel ("" when
// there is none).
func textOf(sel string) string {
	return fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? '').trim()`, sel)
}

// waitText waits until the text of sel is want.
func waitText(t *testing.T, s *session, sel, want string) {
	t.Helper()
	wait(t, s, fmt.Sprintf("%s to read %q", sel, want), fmt.Sprintf("%s === %q", textOf(sel), want))
}

// expectCount checks how many API requests of method on path the server saw.
func (s *session) expectCount(t *testing.T, method, path string, want int) {
	t.Helper()
	if got := s.log.matching(method, path); len(got) != want {
		t.Errorf("%s %s: server saw %d requests %q, want %d", method, path, len(got), got, want)
	}
}

// renderedPost is what a post of the live feed shows.
type renderedPost struct {
	PostID      int               `json:"postid"`
	OwnerHref   string            `json:"ownerHref"`
	OwnerText   string            `json:"ownerText"`
	OwnerImg    string            `json:"ownerImg"`
	TimeHref    string            `json:"timeHref"`
	TimeText    string            `json:"timeText"`
	Image       string            `json:"image"`
	ImageAlt    string            `json:"imageAlt"`
	Likes       string            `json:"likes"`
	LikeButton  string            `json:"likeButton"`
	LikeTag     string            `json:"likeTag"`
	Comments    []renderedComment `json:"comments"`
	FormInputs  int               `json:"formInputs"`
	FormSubmits int               `json:"formSubmits"`
}

type renderedComment struct {
	OwnerHref string `json:"ownerHref"`
	Owner     string `json:"owner"`
	Text      string `json:"text"`
	Deletable bool   `json:"deletable"`
}

const readPosts = `[...document.querySelectorAll('#feed article.post')].map((a) => {
  const time = a.querySelector('[data-testid="post-time-ago"]');
  const owner = a.querySelector('a[href^="/users/"]');
  const form = a.querySelector('form[data-testid="comment-form"]');
  const like = a.querySelector('[data-testid="like-unlike-button"]');
  return {
    postid: Number(a.dataset.postid),
    ownerHref: owner?.getAttribute('href') ?? '',
    ownerText: owner?.textContent.trim() ?? '',
    ownerImg: owner?.querySelector('img')?.getAttribute('src') ?? '',
    timeHref: time?.closest('a')?.getAttribute('href') ?? '',
    timeText: time?.textContent.trim() ?? '',
    image: a.querySelector('img[src^="/uploads/"]:not(a[href^="/users/"] img)')?.getAttribute('src') ?? '',
    imageAlt: a.querySelector('img[src^="/uploads/"]:not(a[href^="/users/"] img)')?.alt ?? '',
    likes: [...a.querySelectorAll('*')].find((e) => e.children.length === 0 && /^\d+ likes?$/.test(e.textContent.trim()))?.textContent.trim() ?? '',
    likeButton: like?.textContent.trim() ?? '',
    likeTag: like?.tagName ?? '',
    comments: [...a.querySelectorAll('[data-testid="comment-text"]')].map((c) => {
      const item = c.parentElement;
      const link = item.querySelector('a[href^="/users/"]');
      return {
        ownerHref: link?.getAttribute('href') ?? '',
        owner: link?.textContent.trim() ?? '',
        text: c.textContent,
        deletable: item.querySelector('[data-testid="delete-comment-button"]') !== null,
      };
    }),
    formInputs: form ? form.querySelectorAll('input:not([type=hidden]), textarea').length : 0,
    formSubmits: form ? form.querySelectorAll('button, input[type=submit], input[type=image]').length : 0,
  };
})`

// layout is where each post of the feed sits on the page: postid, top and
// height in CSS pixels.
const layout = `[...document.querySelectorAll('#feed article.post')].map((a) => {
  const r = a.getBoundingClientRect();
  return [Number(a.dataset.postid), r.top, r.height];
})`

// jumpTolerance is how far, in CSS pixels, a post may move when the script
// swaps it in: sub-pixel differences (the live feed's delete buttons on
// comments make a comment line a fraction of a pixel taller) are not a
// visible jump.
const jumpTolerance = 2.0

// moved reports whether the feed's layout changed from before to after by
// more than jumpTolerance.
func moved(before, after [][3]float64) bool {
	if len(before) != len(after) {
		return true
	}
	for i := range before {
		b, a := before[i], after[i]
		if b[0] != a[0] || math.Abs(b[1]-a[1]) > jumpTolerance || math.Abs(b[2]-a[2]) > jumpTolerance {
			return true
		}
	}
	return false
}

func testLoads(t *testing.T, s *session) {
	if s.delay == 0 {
		s.open(t)
	} else {
		// With a slow API the server-rendered page shows for a while
		// before the script swaps its posts in: the swap must not move
		// anything.
		do(t, s, chromedp.Navigate(s.app.URL+"/"))
		before := testenv.Wait[[][3]float64](t, s.tab, "the server-rendered feed, images loaded, script at work",
			`document.querySelector('#feed[aria-busy]') && [...document.images].every((i) => i.complete) && `+layout)
		s.waitLive(t)
		if after := js[[][3]float64](t, s, layout); moved(before, after) {
			t.Errorf("posts moved when the script took over: [postid top height] before %v, after %v", before, after)
		}
	}
	got := js[[]renderedPost](t, s, readPosts)

	up := func(name string) string { return "/uploads/" + name }
	avatar := map[string]string{}
	for _, u := range dbadmin.SampleUsers {
		avatar[u.Username] = up(u.Filename)
	}
	mine := func(text string) renderedComment {
		return renderedComment{"/users/awdeorio/", "awdeorio", text, true}
	}
	theirs := func(owner, text string) renderedComment {
		return renderedComment{"/users/" + owner + "/", owner, text, false}
	}
	want := []renderedPost{
		{PostID: 3, OwnerText: "awdeorio", Image: up(dbadmin.SamplePosts[2].Filename), Likes: "1 like",
			Comments: []renderedComment{mine("#chickensofinstagram"), theirs("jflinn", "I <3 chickens"), theirs("michjc", "Cute overload!")}},
		{PostID: 2, OwnerText: "jflinn", Image: up(dbadmin.SamplePosts[1].Filename), Likes: "2 likes",
			Comments: []renderedComment{mine("Sick #crossword")}},
		{PostID: 1, OwnerText: "awdeorio", Image: up(dbadmin.SamplePosts[0].Filename), Likes: "3 likes",
			Comments: []renderedComment{theirs("jflinn", "Walking the plank #chickensofinstagram"), mine("This was after trying to teach them to do a #crossword")}},
	}
	if len(got) != len(want) {
		t.Fatalf("feed shows %d posts %+v, want posts 3, 2, 1", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		w.OwnerHref = "/users/" + w.OwnerText + "/"
		w.OwnerImg = avatar[w.OwnerText]
		w.TimeHref = fmt.Sprintf("/posts/%d/", w.PostID)
		w.TimeText = "just now" // the sample data was created moments ago
		w.ImageAlt = g.ImageAlt
		w.LikeButton, w.LikeTag = "unlike", "BUTTON" // awdeorio likes all three
		w.FormInputs, w.FormSubmits = 1, 0
		if g.ImageAlt == "" {
			t.Errorf("post %d: image has no alt text", g.PostID)
		}
		if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
			t.Errorf("post %d renders\n %+v\nwant\n %+v", w.PostID, g, w)
		}
	}

	// Every image arrived and decoded, and every image says what it is.
	wait(t, s, "every image to load", `[...document.images].every((i) => i.complete && i.naturalWidth > 0)`)
	// At this window width (614 px column, one device pixel per CSS pixel)
	// the browser picks each picture's 640 px copy and each avatar's 320
	// px one from the srcset the script wrote: no full-size upload.
	if big := js[[]string](t, s, `[...document.querySelectorAll('#feed img')].filter((i) => !/-w(320|640)\.(jpg|jpeg|png|gif|webp)$/.test(i.currentSrc)).map((i) => i.currentSrc)`); len(big) > 0 {
		t.Errorf("the feed loaded full-size uploads instead of their smaller copies: %q", big)
	}
	if bad := js[[]string](t, s, `[...document.images].filter((i) => !i.hasAttribute('alt')).map((i) => i.src)`); len(bad) > 0 {
		t.Errorf("images without alt: %q", bad)
	}
	// The page came from the API: one feed page, one detail per post.
	s.expectCount(t, "GET", "/api/v1/posts/", 1)
	for _, id := range []int{3, 2, 1} {
		s.expectCount(t, "GET", fmt.Sprintf("/api/v1/posts/%d/", id), 1)
	}
	validate(t, s)
}

func testLike(t *testing.T, s *session) {
	ctx := context.Background()
	// Post 2 starts liked by michjc only, so the counts pass through
	// "1 like" and "2 likes".
	if err := s.app.Store.Unlike(ctx, "awdeorio", 2); err != nil {
		t.Fatal(err)
	}
	s.open(t)
	button := post(2) + ` [data-testid="like-unlike-button"]`
	likes := func(want string, button string) {
		t.Helper()
		wait(t, s, fmt.Sprintf("post 2 to show %q with button %q", want, button), fmt.Sprintf(
			`(() => { const a = document.querySelector(%q); return a && a.textContent.includes(%q) && a.querySelector('[data-testid="like-unlike-button"]').textContent.trim() === %q })()`,
			post(2), want, button))
	}
	likes("1 like", "like")

	do(t, s, chromedp.Click(chromedp.CSS(button)))
	likes("2 likes", "unlike")
	s.expectCount(t, "POST", "/api/v1/likes/", 1)
	s.expectCount(t, "DELETE", "/api/v1/likes/*", 0)

	do(t, s, chromedp.Click(chromedp.CSS(button)))
	likes("1 like", "like")
	s.expectCount(t, "POST", "/api/v1/likes/", 1)
	s.expectCount(t, "DELETE", "/api/v1/likes/*", 1)

	// Keyboard users like too: focus the button, press Enter.
	do(t, s, chromedp.Focus(chromedp.CSS(button)), chromedp.KeyEvent("\r"))
	likes("2 likes", "unlike")
	s.expectCount(t, "POST", "/api/v1/likes/", 2)
	s.expectCount(t, "DELETE", "/api/v1/likes/*", 1)

	if p, err := s.app.Store.Post(ctx, 2, "awdeorio"); err != nil || p.Likes != 2 || p.LognameLikeID == 0 {
		t.Errorf("after like, unlike, like: post 2 in the database has %d likes (awdeorio's like %d), err %v; want 2, liked", p.Likes, p.LognameLikeID, err)
	}
	if s.delay > 0 {
		// With a slow API, a second click while the first is in flight
		// must not send a second request.
		do(t, s, chromedp.Click(chromedp.CSS(button)), chromedp.Click(chromedp.CSS(button)))
		likes("1 like", "like")
		s.expectCount(t, "DELETE", "/api/v1/likes/*", 2)
		s.expectCount(t, "POST", "/api/v1/likes/", 2)
	}
	// No re-fetch: the counts came from the clicks alone.
	s.expectCount(t, "GET", "/api/v1/posts/", 1)
	s.expectCount(t, "GET", "/api/v1/posts/2/", 1)
}

func testDoubleClick(t *testing.T, s *session) {
	ctx := context.Background()
	if err := s.app.Store.Unlike(ctx, "awdeorio", 2); err != nil {
		t.Fatal(err)
	}
	s.open(t)
	image := chromedp.CSS(post(2) + ` img[src="/uploads/` + dbadmin.SamplePosts[1].Filename + `"]`)

	do(t, s, chromedp.DoubleClick(image))
	waitText(t, s, post(2)+` [data-testid="like-unlike-button"]`, "unlike")
	wait(t, s, "post 2 to show 2 likes", fmt.Sprintf(`document.querySelector(%q).textContent.includes('2 likes')`, post(2)))
	s.expectCount(t, "POST", "/api/v1/likes/", 1)

	// On a liked post a double-click does nothing. To know that nothing was
	// sent without sleeping, make a later request (unlike post 3) and wait
	// for it: anything the double-click sent was sent before it.
	do(t, s, chromedp.DoubleClick(image))
	do(t, s, chromedp.Click(chromedp.CSS(post(3)+` [data-testid="like-unlike-button"]`)))
	wait(t, s, "post 3 to show 0 likes", fmt.Sprintf(`document.querySelector(%q).textContent.includes('0 likes')`, post(3)))
	s.expectCount(t, "POST", "/api/v1/likes/", 1)
	s.expectCount(t, "DELETE", "/api/v1/likes/*", 1)
	if !strings.Contains(js[string](t, s, fmt.Sprintf(`document.querySelector(%q).textContent`, post(2))), "2 likes") {
		t.Error("double-click on a liked post changed its like count")
	}
	if p, err := s.app.Store.Post(ctx, 2, "awdeorio"); err != nil || p.Likes != 2 || p.LognameLikeID == 0 {
		t.Errorf("post 2 in the database has %d likes (awdeorio's like %d), err %v; want 2, liked", p.Likes, p.LognameLikeID, err)
	}
}

func testComment(t *testing.T, s *session) {
	ctx := context.Background()
	s.open(t)
	input := chromedp.CSS(post(3) + ` form[data-testid="comment-form"] input`)
	// Enter on an empty input sends nothing (checked below, once a later
	// request has arrived).
	do(t, s, chromedp.SendKeys(input, "\r"))

	const text = `Fine <b>birds</b> & "friends"`
	do(t, s, chromedp.SendKeys(input, text+"\r"))
	comments := post(3) + ` [data-testid="comment-text"]`
	wait(t, s, "the new comment to appear last on post 3", fmt.Sprintf(
		`(() => { const c = [...document.querySelectorAll(%q)]; return c.length === 4 && c[3].textContent === %q })()`, comments, text))
	if v := js[string](t, s, fmt.Sprintf(`document.querySelector(%q).value`, post(3)+` form[data-testid="comment-form"] input`)); v != "" {
		t.Errorf("comment input still holds %q after sending", v)
	}
	s.expectCount(t, "POST", "/api/v1/comments/", 1)
	p, err := s.app.Store.Post(ctx, 3, "awdeorio")
	if err != nil || len(p.Comments) != 4 || p.Comments[3].Text != text {
		t.Fatalf("post 3 in the database has comments %+v (err %v), want the new one last", p.Comments, err)
	}
	newID := p.Comments[3].CommentID

	// Delete it again with its own button.
	del := fmt.Sprintf(`%s li:has([data-testid="comment-text"]):last-child [data-testid="delete-comment-button"]`, post(3))
	if js[int](t, s, fmt.Sprintf(`[...document.querySelectorAll(%q)].indexOf(document.querySelector(%q).closest('li'))`,
		post(3)+" li", del)) != 3 {
		t.Fatal("the new comment has no delete button")
	}
	do(t, s, chromedp.Click(chromedp.CSS(del)))
	wait(t, s, "the comment to disappear", fmt.Sprintf(`document.querySelectorAll(%q).length === 3`, comments))
	s.expectCount(t, "DELETE", fmt.Sprintf("/api/v1/comments/%d/", newID), 1)
	s.expectCount(t, "DELETE", "/api/v1/comments/*", 1)
	if _, err := s.app.Store.Comment(ctx, newID); err == nil {
		t.Error("the deleted comment is still in the database")
	}
	// The page is still valid HTML after all that.
	validate(t, s)
}

// testAPIError makes the API fail (a comment on a post deleted meanwhile)
// and checks the reader gets a message in the page, not a console error.
func testAPIError(t *testing.T, s *session) {
	s.open(t)
	if _, err := s.app.Store.DeletePost(context.Background(), 1, "awdeorio"); err != nil {
		t.Fatal(err)
	}
	// The browser itself logs the failed request; that is expected.
	s.allowConsole = func(e testenv.ConsoleEntry) bool {
		return e.Source == "network" && strings.Contains(e.URL, "/api/v1/comments/?postid=1")
	}
	do(t, s, chromedp.SendKeys(chromedp.CSS(post(1)+` form[data-testid="comment-form"] input`), "hello?\r"))
	wait(t, s, "an error message on post 1", fmt.Sprintf(
		`[...document.querySelectorAll('%s [role=alert]')].some((e) => e.checkVisibility() && /not found/i.test(e.textContent))`, post(1)))
	if v := js[string](t, s, fmt.Sprintf(`document.querySelector(%q).value`, post(1)+` form[data-testid="comment-form"] input`)); v != "hello?" {
		t.Errorf("after a failed comment the input holds %q; want the text kept for another try", v)
	}
}

// addPosts adds n posts by awdeorio, with generated pictures.
func addPosts(t *testing.T, s *session, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		name := fmt.Sprintf("%032x.jpg", i+1)
		if err := s.app.Media.Put(ctx, name, bytes.NewReader(media.Landscape(name, 160))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.app.Store.CreatePost(ctx, "awdeorio", name); err != nil {
			t.Fatal(err)
		}
	}
}

// frames is a JavaScript promise that settles once the page has rendered
// twice, so its IntersectionObserver has seen where the page is scrolled.
const frames = `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r))))`

// postLinks is a JavaScript expression for the number of posts (their
// timestamp links) on the feed.
const postLinks = `document.querySelectorAll('#feed [data-testid="post-time-ago"]').length`

func testInfiniteScroll(t *testing.T, s *session) {
	// 30 more posts by awdeorio (ids 5 to 34): with the sample posts 1–3
	// his feed holds 33, so pages of 10 come as 10, 20, 30 and then 33.
	addPosts(t, s, 30)
	s.open(t)
	ids := func() []int {
		return js[[]int](t, s, `[...document.querySelectorAll('#feed [data-testid="post-time-ago"]')].map((a) => Number(a.closest('a').getAttribute('href').split('/')[2]))`)
	}
	// awdeorio's feed, newest first (jag's post 4 is not on it).
	var feed []int
	for id := 34; id >= 1; id-- {
		if id != 4 {
			feed = append(feed, id)
		}
	}
	newest := func(n int) []int { return feed[:min(n, len(feed))] }
	toBottom := `window.scrollTo(0, document.documentElement.scrollHeight)`
	scrollUntil := func(n int) {
		t.Helper()
		js[chromedp.Void](t, s, toBottom+`; `+frames)
		if s.delay > 0 {
			// While the page is on its way, the reader scrolls up and back
			// down: the end of the feed comes into view a second time, and
			// that must not ask for the same page again.
			js[chromedp.Void](t, s, `window.scrollTo(0, 0); `+frames)
			js[chromedp.Void](t, s, toBottom+`; `+frames)
		}
		wait(t, s, fmt.Sprintf("%d post links", n), fmt.Sprintf(
			`document.querySelectorAll('#feed [data-testid="post-time-ago"]').length >= %d && !document.querySelector('#feed[aria-busy]')`, n))
	}
	if got := ids(); !slices.Equal(got, newest(10)) {
		t.Fatalf("first page shows posts %v, want %v", got, newest(10))
	}
	scrollUntil(20)
	scrollUntil(30)
	if got := ids(); !slices.Equal(got, newest(30)) {
		t.Fatalf("after scrolling twice the feed shows %d post links %v, want exactly 30: %v", len(got), got, newest(30))
	}
	scrollUntil(33)
	if got := ids(); !slices.Equal(got, newest(35)) {
		t.Fatalf("at the end the feed shows posts %v, want %v", got, newest(35))
	}
	// Four pages, each asked for once; the last one said there is no next.
	pages := s.log.matching("GET", "/api/v1/posts/")
	if len(pages) != 4 || len(slices.Compact(slices.Sorted(slices.Values(pages)))) != 4 {
		t.Errorf("feed pages requested: %q; want 4 different ones", pages)
	}
	for _, id := range feed {
		s.expectCount(t, "GET", fmt.Sprintf("/api/v1/posts/%d/", id), 1)
	}

	// A reload starts over at the top, with the newest posts.
	do(t, s, chromedp.Reload())
	s.waitLive(t)
	if got := ids(); !slices.Equal(got, newest(10)) {
		t.Errorf("after a reload the feed shows %v, want %v", got, newest(10))
	}
	if y := js[float64](t, s, `window.scrollY`); y != 0 {
		t.Errorf("after a reload the page is scrolled to %v, want the top", y)
	}
	if pages := s.log.matching("GET", "/api/v1/posts/"); len(pages) != 5 || pages[4] != "/api/v1/posts/" {
		t.Errorf("after a reload the feed pages requested were %q; want the first page again", pages)
	}
}

// testTimestamps moves the page's clock forward and watches the humanised
// times follow. The clock is a script injected before the page loads
// (fakeclock.js) rather than CDP's virtual time: virtual time also holds
// back network fetches and short timers, which the feed needs, while the
// injected clock moves only Date and the long timers, exactly what the
// once-a-minute refresh uses, and works the same in every headless mode.
func testTimestamps(t *testing.T, s *session) {
	if _, err := chromedp.Call(s.tab.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fakeClock}); err != nil {
		t.Fatal(err)
	}
	s.open(t)
	times := `[...document.querySelectorAll('#feed [data-testid="post-time-ago"]')].map((e) => e.textContent.trim())`
	all := func(want string) string {
		return fmt.Sprintf(`(() => { const t = %s; return t.length === 3 && t.every((x) => x === %q) })()`, times, want)
	}
	if got := js[[]string](t, s, times); !slices.Equal(got, []string{"just now", "just now", "just now"}) {
		t.Fatalf("timestamps read %q, want just now", got)
	}
	js[int](t, s, `__clock.advance(61 * 1000)`)
	wait(t, s, "timestamps to read 'a minute ago'", all("a minute ago"))
	js[int](t, s, `__clock.advance(2 * 60 * 60 * 1000)`)
	wait(t, s, "timestamps to read '2 hours ago'", all("2 hours ago"))
	js[int](t, s, `__clock.advance(3 * 24 * 60 * 60 * 1000)`)
	wait(t, s, "timestamps to read '3 days ago'", all("3 days ago"))
	// The exact time is there for whoever wants it, in local time.
	if dt := js[string](t, s, `document.querySelector('#feed [data-testid="post-time-ago"] time')?.dateTime ?? ''`); !strings.HasSuffix(dt, "Z") {
		t.Errorf("timestamp's datetime is %q, want a UTC time", dt)
	}
}

// validate keeps the page's DOM for TestFeed's HTML5 check.
func validate(t *testing.T, s *session) {
	t.Helper()
	if s.dom != nil {
		s.dom.keep(t, s)
	}
}

// testEmptyFeed: a feed with no posts says so, as the server's page does.
func testEmptyFeed(t *testing.T, s *session) {
	ctx := context.Background()
	for _, id := range []int64{1, 3} {
		if _, err := s.app.Store.DeletePost(ctx, id, "awdeorio"); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"jflinn", "michjc"} {
		if err := s.app.Store.Unfollow(ctx, "awdeorio", u); err != nil {
			t.Fatal(err)
		}
	}
	s.open(t)
	if n := js[int](t, s, postLinks); n != 0 {
		t.Errorf("empty feed shows %d posts", n)
	}
	if msg := js[string](t, s, textOf("#feed .empty")); !strings.Contains(msg, "Your feed is empty") {
		t.Errorf("empty feed says %q, want that it is empty", msg)
	}
	if n := js[int](t, s, `document.querySelectorAll('#feed .empty a[href="/explore/"]').length`); n != 1 {
		t.Errorf("empty feed has %d links to /explore/, want 1", n)
	}
}

// testScrollError: when a page of the feed fails to load, the reader sees
// why and a button to try again; the script does not retry on its own.
func testScrollError(t *testing.T, s *session) {
	addPosts(t, s, 30)
	page2 := "/api/v1/posts/?size=10&page=1&postid_lte=34"
	s.log.failNext(page2)
	s.allowConsole = func(e testenv.ConsoleEntry) bool {
		return e.Source == "network" && strings.HasSuffix(e.URL, page2)
	}
	s.open(t)
	js[chromedp.Void](t, s, `window.scrollTo(0, document.documentElement.scrollHeight)`)
	retry := `#feed [role=status] button`
	wait(t, s, "an error message with a retry button", fmt.Sprintf(
		`/Service Unavailable/.test(%s) && document.querySelector(%q) !== null && !document.querySelector('#feed[aria-busy]')`,
		textOf("#feed [role=status]"), retry))
	// The end of the feed is still in view; the page must not be asked for
	// again until the reader says so. Let the page render (an observer
	// would have fired by then) and make a request of our own: anything
	// the script sent by itself was sent before it. The test does not
	// scroll, since scrolling away and back is a reader's way to retry too.
	js[chromedp.Void](t, s, frames)
	if status := js[int](t, s, `fetch('/api/v1/').then((r) => r.status)`); status != http.StatusOK {
		t.Fatalf("GET /api/v1/: %d", status)
	}
	if pages := s.log.matching("GET", "/api/v1/posts/"); len(pages) != 2 {
		t.Fatalf("after a failed page, with nobody asking, the script requested feed pages %q; want the first and the failed one only", pages)
	}

	do(t, s, chromedp.Click(chromedp.CSS(retry)))
	wait(t, s, "20 posts", postLinks+` === 20 && !document.querySelector('#feed[aria-busy]')`)
	if pages := s.log.matching("GET", "/api/v1/posts/"); !slices.Equal(pages, []string{"/api/v1/posts/", page2, page2}) {
		t.Errorf("feed pages requested: %q; want the first, the second (failed) and the second again", pages)
	}
	if msg := js[string](t, s, textOf("#feed [role=status]")); msg != "" {
		t.Errorf("after a successful retry the status still says %q", msg)
	}
}

// testLoginForm logs in through the real login form instead of a made-up
// cookie, and the live feed works on the session the server started.
func testLoginForm(t *testing.T, s *session) {
	if _, err := chromedp.Call(s.tab.Ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	do(t, s, chromedp.Navigate(s.app.URL+"/"))
	wait(t, s, "the login page", `location.pathname === '/accounts/login/' && document.querySelector('input[name=password]') !== null`)
	do(t, s, chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "awdeorio"))
	// Enter submits; the server redirects to the feed, which then loads.
	if _, err := chromedp.Run(s.tab.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "chickens\r"))); err != nil {
		t.Fatalf("log in: %v", err)
	}
	if path := js[string](t, s, `location.pathname`); path != "/" {
		t.Fatalf("after logging in the browser is at %s, want /", path)
	}
	s.waitLive(t)
	if n := js[int](t, s, postLinks); n != 3 {
		t.Errorf("after logging in the feed shows %d posts, want 3", n)
	}
	button := post(3) + ` [data-testid="like-unlike-button"]`
	do(t, s, chromedp.Click(chromedp.CSS(button)))
	waitText(t, s, button, "like")
	s.expectCount(t, "DELETE", "/api/v1/likes/*", 1)
}

// TestTimeAgo checks the feed's wording of times (feed-time.js) in the
// browser, where it runs, at the edges of each unit.
func TestTimeAgo(t *testing.T) {
	b := testenv.NewBrowser(t)
	app := testenv.NewApp(t, "sqlite")
	tab := b.NewTab(t, time.Minute)
	// Any page of the site will do as the origin to import the module from.
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(app.URL+"/accounts/login/")); err != nil {
		t.Fatal(err)
	}
	const (
		sec  = 1000
		min  = 60 * sec
		hour = 60 * min
		day  = 24 * hour
	)
	cases := []struct {
		ago  int64
		want string
	}{
		{-5 * min, "just now"}, // a viewer's clock behind the server's
		{0, "just now"},
		{44 * sec, "just now"},
		{45 * sec, "a minute ago"},
		{89 * sec, "a minute ago"},
		{90 * sec, "2 minutes ago"},
		{10 * min, "10 minutes ago"},
		{44 * min, "44 minutes ago"},
		{45 * min, "an hour ago"},
		{89 * min, "an hour ago"},
		{90 * min, "2 hours ago"},
		{21 * hour, "21 hours ago"},
		{22 * hour, "a day ago"},
		{35 * hour, "a day ago"},
		{36 * hour, "2 days ago"},
		{25 * day, "25 days ago"},
		{26 * day, "a month ago"},
		{45 * day, "2 months ago"},
		{300 * day, "10 months ago"},
		{320 * day, "a year ago"},
		{548 * day, "2 years ago"},
		{10 * 365 * day, "10 years ago"},
	}
	now := int64(1_800_000_000_000)
	for _, c := range cases {
		got := testenv.Eval[string](t, tab, fmt.Sprintf(
			`import('/static/feed-time.js').then((m) => m.timeAgo(new Date(%d), %d))`, now-c.ago, now))
		if got != c.want {
			t.Errorf("timeAgo %d ms ago = %q, want %q", c.ago, got, c.want)
		}
	}
	// The API's times are UTC whatever the viewer's time zone.
	if _, err := chromedp.Call(tab.Ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: timezone}); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"2026-11-24 22:31:05": "2026-11-24T22:31:05.000Z",
		"2024-02-29 00:00:00": "2024-02-29T00:00:00.000Z",
		"not a time":          "null",
	} {
		got := testenv.Eval[string](t, tab, fmt.Sprintf(
			`import('/static/feed-time.js').then((m) => String(m.parseUTC(%q)?.toISOString() ?? null))`, in))
		if got != want {
			t.Errorf("parseUTC(%q) = %s, want %s", in, got, want)
		}
	}
	tab.CheckConsole(t, nil)
}
