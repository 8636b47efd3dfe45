package browser

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// viewport is a window size the pages are checked at: a phone's and a
// laptop's.
type viewport struct {
	name          string
	width, height int64
}

var viewports = []viewport{{"phone", 390, 844}, {"laptop", 1280, 900}}

// setViewport makes tab's page width × height CSS pixels, one device
// pixel each, as a phone (touch, mobile layout) below 640 pixels.
func setViewport(t *testing.T, tab *testenv.Tab, v viewport) {
	t.Helper()
	if _, err := chromedp.Call(tab.Ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: v.width, Height: v.height, DeviceScaleFactor: 1, Mobile: v.width < 640,
	}); err != nil {
		t.Fatal(err)
	}
}

// loggedInTab opens a tab of b logged in to app as username.
func loggedInTab(t *testing.T, b *testenv.Browser, app *testenv.App, username string) *testenv.Tab {
	t.Helper()
	tab := b.NewTab(t, 3*time.Minute)
	if err := tab.SetCookie(app.URL, auth.CookieName, app.SessionCookie(t, username)); err != nil {
		t.Fatal(err)
	}
	return tab
}

// navigate loads path of app in tab and waits for the page to be ready:
// on the feed, until the live feed has taken over.
func navigate(t *testing.T, tab *testenv.Tab, app *testenv.App, path string) {
	t.Helper()
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(app.URL+path)); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if path == "/" {
		testenv.Wait[bool](t, tab, "the live feed to take over #feed", `document.querySelector('#feed[data-live]:not([aria-busy])') !== null`)
	}
}

// TestAccessibility runs axe-core on every page, logged in and out, at a
// phone's and a laptop's width (and in the dark colour scheme on the
// phone): no serious or critical violation (contrast, names, labels,
// landmarks…).
func TestAccessibility(t *testing.T) {
	b := testenv.NewBrowser(t)
	loggedIn := []string{
		"/", "/posts/3/", "/users/awdeorio/", "/users/jflinn/", "/users/awdeorio/followers/",
		"/users/awdeorio/following/", "/explore/", "/accounts/edit/", "/accounts/password/",
		"/accounts/delete/", "/users/nobody/", // and an error page
	}
	loggedOut := []string{"/accounts/login/", "/accounts/create/"}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		app := testenv.NewApp(t, backend)
		in := loggedInTab(t, b, app, "awdeorio")
		out := b.NewTab(t, 3*time.Minute)
		for _, scheme := range []string{"light", "dark"} {
			for _, tab := range []*testenv.Tab{in, out} {
				if _, err := chromedp.Call(tab.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
					Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
				}); err != nil {
					t.Fatal(err)
				}
			}
			for _, v := range viewports {
				if scheme == "dark" && v.name != "phone" {
					continue // colours do not change with the width: one is enough
				}
				check := func(tab *testenv.Tab, who, path string) {
					t.Helper()
					setViewport(t, tab, v)
					navigate(t, tab, app, path)
					for _, bad := range testenv.Axe(t, tab) {
						t.Errorf("%s, %s, %s, %s: %s", path, who, v.name, scheme, bad)
					}
				}
				for _, p := range loggedIn {
					check(in, "logged in", p)
				}
				for _, p := range loggedOut {
					check(out, "logged out", p)
				}
			}
		}
		in.CheckConsole(t, func(e testenv.ConsoleEntry) bool {
			return e.Source == "network" && strings.Contains(e.URL, "/users/nobody/") // the 404 page, on purpose
		})
		out.CheckConsole(t, nil)
	})
}

// clsObserver adds up the page's layout shifts as Chromium reports them
// (the Layout Instability API), from the first paint on. Shifts right after
// input are left out, as Cumulative Layout Shift leaves them out.
const clsObserver = `window.__layoutShifts = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.hadRecentInput) continue;
    window.__layoutShifts.push({value: e.value, nodes: e.sources.map((s) => s.node ? (s.node.outerHTML || s.node.nodeName).slice(0, 120) : '')});
  }
}).observe({type: 'layout-shift', buffered: true});`

// maxCLS is the Cumulative Layout Shift the feed may have while it loads:
// next to none (0.1 is the usual limit of "good"; the feed without sizes
// on its pictures measured 0.44 and 0.79).
const maxCLS = 0.02

// TestFeedLoadsWithoutLayoutShift loads the feed on a phone with every
// picture's bytes held back (and the API more), scrolls to its end, and measures the layout
// shift: pictures hold their place (width and height in the markup) and
// show their placeholder colour until they arrive; the first loads at
// once, the others lazily.
func TestFeedLoadsWithoutLayoutShift(t *testing.T) {
	b := testenv.NewBrowser(t)
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		// The API slower than the pictures, so the server's page is on
		// screen while they arrive, before the live feed takes over.
		app := testenv.NewApp(t, backend, testenv.WithMiddleware(delay(400*time.Millisecond, 2*slowAPI)))
		// Pictures of other shapes than the sample's squares: a wrong
		// height would show as a shift when they arrive.
		ctx := context.Background()
		shapes := [][2]int{{900, 500}, {500, 800}, {700, 700}, {1000, 400}}
		for i := range 8 {
			sz := shapes[i%len(shapes)]
			name, info, err := media.Save(ctx, app.Media, bytes.NewReader(solidPNG(t, sz[0], sz[1], color.RGBA{uint8(30 * i), 90, 160, 255})), "p.png", 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if err := app.Store.PutPicture(ctx, storage.Picture{Filename: name, Width: info.Width, Height: info.Height, Color: info.Color}); err != nil {
				t.Fatal(err)
			}
			if _, err := app.Store.CreatePost(ctx, "awdeorio", name); err != nil {
				t.Fatal(err)
			}
		}
		tab := loggedInTab(t, b, app, "awdeorio")
		setViewport(t, tab, viewports[0])
		if _, err := chromedp.Call(tab.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: clsObserver}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab.Ctx, chromedp.Navigate(app.URL+"/")); err != nil {
			t.Fatal(err)
		}

		// The server's page, before any picture has arrived: each has its
		// size, the first is not lazy and the rest are, and the first shows
		// its placeholder colour.
		type img struct {
			Src, Width, Height, Loading, Background string
		}
		const readImgs = `[...document.querySelectorAll('#feed img.post-image')].map((i) => ({
			src: i.getAttribute('src'), width: i.getAttribute('width') ?? '', height: i.getAttribute('height') ?? '',
			loading: i.getAttribute('loading') ?? '', background: getComputedStyle(i).backgroundColor}))`
		server := testenv.Eval[[]img](t, tab, readImgs)
		checkImgs := func(when string, imgs []img) {
			t.Helper()
			if len(imgs) != 10 {
				t.Fatalf("%s: the feed shows %d pictures, want 10", when, len(imgs))
			}
			names := make([]string, len(imgs))
			for i, im := range imgs {
				names[i] = strings.TrimPrefix(im.Src, "/uploads/")
			}
			pics, err := app.Store.Pictures(ctx, names)
			if err != nil {
				t.Fatal(err)
			}
			for i, im := range imgs {
				p := pics[names[i]]
				if p.Width == 0 || im.Width != fmt.Sprint(p.Width) || im.Height != fmt.Sprint(p.Height) {
					t.Errorf("%s: picture %d (%s) is %s×%s in the markup; stored %d×%d", when, i, im.Src, im.Width, im.Height, p.Width, p.Height)
				}
				if want := map[bool]string{true: "", false: "lazy"}[i == 0]; im.Loading != want {
					t.Errorf("%s: picture %d has loading=%q, want %q", when, i, im.Loading, want)
				}
				if want := placeholderRGB(p.Color); im.Background != want {
					t.Errorf("%s: picture %d's background is %s, want its placeholder %s (from %s)", when, i, im.Background, want, p.Color)
				}
			}
		}
		checkImgs("server page", server)

		testenv.Wait[bool](t, tab, "the live feed to take over #feed", `document.querySelector('#feed[data-live]:not([aria-busy])') !== null`)
		checkImgs("live feed", testenv.Eval[[]img](t, tab, readImgs))
		// Down the feed a screen at a time, letting the lazy pictures
		// arrive, to its end.
		testenv.Eval[bool](t, tab, `(async () => {
			const pause = (ms) => new Promise((r) => setTimeout(r, ms));
			for (let y = 0; y < document.documentElement.scrollHeight; y += innerHeight / 2) {
				scrollTo(0, y);
				await pause(150);
			}
			return true;
		})()`)
		testenv.Wait[bool](t, tab, "every picture to arrive", `[...document.querySelectorAll('#feed img')].every((i) => i.complete && i.naturalWidth > 0)`)
		testenv.Eval[chromedp.Void](t, tab, frames)
		type shift struct {
			Value float64
			Nodes []string
		}
		shifts := testenv.Eval[[]shift](t, tab, `window.__layoutShifts`)
		var cls float64
		for _, s := range shifts {
			cls += s.Value
		}
		t.Logf("Cumulative Layout Shift %.4f over %d shifts", cls, len(shifts))
		if cls > maxCLS {
			t.Errorf("Cumulative Layout Shift while the feed loads is %.3f, want at most %.2f; shifts: %+v", cls, maxCLS, shifts)
		}
		tab.CheckConsole(t, nil)
	})
}

// delay holds back every picture by uploads and every API call by api, as
// a slow phone network would.
func delay(uploads, api time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := time.Duration(0)
			switch {
			case strings.HasPrefix(r.URL.Path, "/uploads/"):
				d = uploads
			case strings.HasPrefix(r.URL.Path, "/api/"):
				d = api
			}
			if d > 0 {
				select {
				case <-time.After(d):
				case <-r.Context().Done():
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// solidPNG is a w×h picture in c with a darker square in a corner.
func solidPNG(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			px := c
			if x < w/4 && y < h/4 {
				px = color.RGBA{c.R / 2, c.G / 2, c.B / 2, 255}
			}
			img.SetRGBA(x, y, px)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// placeholderRGB is the computed background colour the placeholder of a
// picture of colour c ("#rrggbb") has: each channel's high hex digit × 17.
func placeholderRGB(c string) string {
	digit := func(i int) uint64 {
		d, _ := strconv.ParseUint(c[i:i+1], 16, 8)
		return d * 17
	}
	return fmt.Sprintf("rgb(%d, %d, %d)", digit(1), digit(3), digit(5))
}

// TestKeyboardOnly likes, comments, follows and uploads with the keyboard
// alone: Tab to the control (each one reachable, with a visible focus
// ring), Enter or Space to use it.
func TestKeyboardOnly(t *testing.T) {
	b := testenv.NewBrowser(t)
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		app := testenv.NewApp(t, backend)
		tab := loggedInTab(t, b, app, "awdeorio")
		setViewport(t, tab, viewports[0])
		key := func(keys string) {
			t.Helper()
			if err := chromedp.Do(tab.Ctx, chromedp.KeyEvent(keys)); err != nil {
				t.Fatal(err)
			}
		}
		// submit presses keys and waits for the page the form leads to.
		submit := func(keys string) {
			t.Helper()
			if _, err := chromedp.Run(tab.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.KeyEvent(keys))); err != nil {
				t.Fatal(err)
			}
		}
		// tabTo presses Tab until sel has the focus, from where the focus
		// is (the top of a page just loaded), and checks that it shows.
		tabTo := func(sel string) {
			t.Helper()
			for range 60 {
				key("\t")
				if testenv.Eval[bool](t, tab, fmt.Sprintf(`document.activeElement?.matches(%q) ?? false`, sel)) {
					if ring := testenv.Eval[string](t, tab, `getComputedStyle(document.activeElement).outlineStyle`); ring == "none" {
						t.Errorf("%s has the keyboard focus but no focus ring", sel)
					}
					return
				}
			}
			t.Fatalf("%s never got the focus in 60 presses of Tab (the focus is on %s)", sel,
				testenv.Eval[string](t, tab, `document.activeElement?.outerHTML.slice(0, 200) ?? 'nothing'`))
		}

		// Like, in the live feed: post 3 (awdeorio likes it) goes to
		// unliked with Enter and back with Space.
		navigate(t, tab, app, "/")
		button := post(3) + ` [data-testid="like-unlike-button"]`
		tabTo(button)
		key("\r")
		testenv.Wait[bool](t, tab, "post 3 to read 0 likes", textOf(post(3)+` .post-likes`)+` === '0 likes'`)
		key(" ")
		testenv.Wait[bool](t, tab, "post 3 to read 1 like", textOf(post(3)+` .post-likes`)+` === '1 like'`)
		if p, err := app.Store.Post(ctx, 3, "awdeorio"); err != nil || p.LognameLikeID == 0 {
			t.Errorf("after unlike and like by keyboard, awdeorio's like of post 3 is %d (%v), want one", p.LognameLikeID, err)
		}

		// Comment: Tab to the post's input, type, Enter.
		tabTo(post(3) + ` [data-testid="comment-form"] input`)
		key("typed without a mouse\r")
		testenv.Wait[bool](t, tab, "the comment to appear", fmt.Sprintf(
			`[...document.querySelectorAll(%q)].some((e) => e.textContent === 'typed without a mouse')`, post(3)+` [data-testid="comment-text"]`))

		// Follow jag from explore.
		navigate(t, tab, app, "/explore/")
		tabTo(`input[name="follow"]`)
		submit("\r")
		if rels, err := app.Store.Following(ctx, "awdeorio", "awdeorio"); err != nil || !follows(rels, "jag") {
			t.Errorf("after following by keyboard awdeorio follows %+v (%v); want jag among them", rels, err)
		}

		// Upload: Space on the file input opens the file chooser (answered
		// here, as a person would pick a file), Enter on the button sends.
		dir := t.TempDir()
		pic := filepath.Join(dir, "keyboard.jpg")
		if err := os.WriteFile(pic, media.Landscape("keyboard", 300), 0o644); err != nil {
			t.Fatal(err)
		}
		navigate(t, tab, app, "/users/awdeorio/")
		if _, err := chromedp.Call(tab.Ctx, page.SetInterceptFileChooserDialog, page.SetInterceptFileChooserDialogParams{Enabled: true}); err != nil {
			t.Fatal(err)
		}
		tabTo(`input[type="file"][name="file"]`)
		chooser, err := chromedp.Run(tab.Ctx, chromedp.WaitEvent(page.FileChooserOpened, nil, chromedp.KeyEvent(" ")))
		if err != nil {
			t.Fatalf("Space on the file input: %v", err)
		}
		if _, err := chromedp.Call(tab.Ctx, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: []string{pic}, BackendNodeID: chooser.BackendNodeID}); err != nil {
			t.Fatal(err)
		}
		before, err := app.Store.PostsByOwner(ctx, "awdeorio")
		if err != nil {
			t.Fatal(err)
		}
		tabTo(`input[name="create_post"]`)
		submit("\r")
		after, err := app.Store.PostsByOwner(ctx, "awdeorio")
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before)+1 {
			t.Errorf("after uploading by keyboard awdeorio has %d posts, want %d", len(after), len(before)+1)
		}
		tab.CheckConsole(t, nil)
	})
}

func follows(rels []storage.Relation, username string) bool {
	for _, r := range rels {
		if r.Username == username {
			return true
		}
	}
	return false
}
