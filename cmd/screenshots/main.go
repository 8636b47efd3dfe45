// Command screenshots starts a throwaway insta485 with the sample data,
// logs in as awdeorio in headless Chromium, and saves PNGs of the feed, a
// user page and a post page at a phone width and a laptop width: for
// looking at the design without setting anything up.
//
//	go run ./cmd/screenshots [-out screenshots]
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/chromium"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
)

// pages are what gets photographed, by file name.
var pages = []struct{ name, path string }{
	{"feed", "/"},
	{"user-awdeorio", "/users/awdeorio/"},
	{"post-3", "/posts/3/"},
}

// widths are the viewports: a phone (CSS pixels of an iPhone 12–15, at its
// device pixel ratio) and a laptop.
var widths = []struct {
	width, height int64
	scale         float64
	mobile        bool
}{
	{390, 844, 2, true},
	{1280, 800, 1, false},
}

func main() {
	out := flag.String("out", "screenshots", "directory to write the PNGs to")
	browser := flag.String("chromium", "", "Chromium executable (default: $INSTA485_CHROMIUM, else chromium or google-chrome on PATH)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, *out, *browser); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out, browserPath string) error {
	tmp, err := os.MkdirTemp("", "insta485-screenshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	site, secret, store, err := startSite(ctx, tmp)
	if err != nil {
		return err
	}
	defer site.Close()
	defer store.Close()
	user, err := store.User(ctx, "awdeorio")
	if err != nil {
		return err
	}
	cookie, err := (&auth.Authenticator{Sessions: auth.NewSessions(secret), Store: store}).StartSession(ctx, user)
	if err != nil {
		return err
	}

	path, err := chromium.Find()
	if browserPath != "" {
		path, err = exec.LookPath(browserPath)
	}
	if err != nil {
		return err
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromium.Options(path, filepath.Join(tmp, "chromium"))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		return fmt.Errorf("start Chromium at %s: %w", path, err)
	}
	if _, err := chromedp.Call(browser, network.SetCookie, network.SetCookieParams{
		Name: auth.CookieName, Value: cookie, URL: site.URL, Path: "/", HTTPOnly: new(true),
	}); err != nil {
		return err
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, w := range widths {
		for _, p := range pages {
			png, err := shoot(browser, site.URL+p.path, w.width, w.height, w.scale, w.mobile)
			if err != nil {
				return fmt.Errorf("%s at %dpx: %w", p.path, w.width, err)
			}
			file := filepath.Join(out, fmt.Sprintf("%s-%d.png", p.name, w.width))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				return err
			}
			fmt.Println(file)
		}
	}
	return nil
}

// site is insta485 listening on a local port.
type site struct {
	URL string
	srv *http.Server
}

func (s *site) Close() { s.srv.Close() }

// startSite creates an SQLite database with the sample data and its images
// under dir and serves insta485 on it, as `insta485 serve` would.
func startSite(ctx context.Context, dir string) (*site, []byte, *storage.Store, error) {
	opts := storage.Options{DSN: filepath.Join(dir, "insta485.sqlite3")}
	if err := dbadmin.Create(ctx, opts); err != nil {
		return nil, nil, nil, err
	}
	uploads, err := blob.Open(ctx, filepath.Join(dir, "uploads"))
	if err != nil {
		return nil, nil, nil, err
	}
	profiles, posts := dbadmin.SampleImages()
	if err := media.WriteSample(ctx, uploads, profiles, posts); err != nil {
		return nil, nil, nil, err
	}
	store, err := dbadmin.Open(ctx, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	secret := []byte(rand.Text() + rand.Text())
	h := app.New(app.Deps{
		Store: store, Media: uploads, Secret: secret, MaxUpload: 16 << 20,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		store.Close()
		return nil, nil, nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "screenshots: serve:", err)
		}
	}()
	return &site{URL: "http://" + ln.Addr().String(), srv: srv}, secret, store, nil
}

// shoot opens url in a new tab at the given viewport and returns a PNG of
// the whole page once it has settled: the live feed has taken over (where
// there is one), every image has loaded, fonts are ready.
func shoot(browser context.Context, url string, width, height int64, scale float64, mobile bool) ([]byte, error) {
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(scale)}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	const settled = `(!document.querySelector('#feed') || document.querySelector('#feed[data-live]:not([aria-busy])')) &&
		[...document.images].every((i) => i.complete) && document.fonts.status === 'loaded'`
	if err := chromedp.Do(tab,
		chromedp.EmulateViewport(width, height, opts...),
		chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](settled, chromedp.WithPollingTimeout(20*time.Second)),
	); err != nil {
		return nil, err
	}
	return chromedp.Run(tab, chromedp.FullScreenshot(100))
}
