package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// fetchHandoff returns the bytes a handed-off picture answer leads to, the
// way a browser (redirect) or nginx (X-Accel-Redirect) would get them:
// without the session, since the URL itself is the permission.
func fetchHandoff(t *testing.T, app *testenv.App, res response) []byte {
	t.Helper()
	target := res.Location
	if xa := res.Header.Get("X-Accel-Redirect"); xa != "" {
		if name, ok := strings.CutPrefix(xa, media.XAccelDirPrefix); ok {
			b, err := os.ReadFile(filepath.Join(app.UploadDir, name))
			if err != nil {
				t.Fatalf("X-Accel-Redirect %s: %v", xa, err)
			}
			return b
		}
		rest, ok := strings.CutPrefix(xa, media.XAccelS3Prefix)
		scheme, hostPath, _ := strings.Cut(rest, "/")
		if !ok || (scheme != "http" && scheme != "https") {
			t.Fatalf("X-Accel-Redirect %q names no internal location of deploy/nginx.conf", xa)
		}
		target = scheme + "://" + hostPath
	}
	if target == "" {
		t.Fatalf("status %d with neither Location nor X-Accel-Redirect", res.Status)
	}
	got, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	b, err := io.ReadAll(got.Body)
	if err != nil || got.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v\n%.300s", target, got.StatusCode, err, b)
	}
	return b
}

// TestUploadDelivery checks /uploads/ in the modes where the app does not
// send the bytes: the access rules and 404s stay the app's, and what it
// answers (a redirect to a presigned URL, an X-Accel-Redirect) leads to
// exactly the stored picture, for variants made on demand too.
func TestUploadDelivery(t *testing.T) {
	t.Parallel()
	const ttl = time.Minute
	cases := []struct{ store, mode string }{
		{"local", media.DeliverXAccel},
		{"s3", media.DeliverXAccel},
		{"s3", media.DeliverRedirect},
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		for _, tc := range cases {
			t.Run(tc.store+"/"+tc.mode, func(t *testing.T) {
				t.Parallel()
				app := testenv.NewApp(t, backend, testenv.WithUploadStore(tc.store), testenv.WithDelivery(tc.mode, ttl))
				visitor := newClient(t, app)
				awdeorio := loggedIn(t, app, "awdeorio")

				res := visitor.get("/uploads/" + post1Image)
				if res.Status != http.StatusForbidden || res.Location != "" || res.Header.Get("X-Accel-Redirect") != "" {
					t.Errorf("visitor: status %d, Location %q, X-Accel-Redirect %q; want 403 and neither",
						res.Status, res.Location, res.Header.Get("X-Accel-Redirect"))
				}
				for _, name := range []string{blob.NewName(".jpg"), blob.VariantName(blob.NewName(".jpg"), 320), "..%2Finsta485.sqlite3", "x.jpg"} {
					res := awdeorio.get("/uploads/" + name)
					if res.Status != http.StatusNotFound || res.Location != "" || res.Header.Get("X-Accel-Redirect") != "" {
						t.Errorf("/uploads/%s: status %d, Location %q, X-Accel-Redirect %q; want the app's 404",
							name, res.Status, res.Location, res.Header.Get("X-Accel-Redirect"))
					}
				}

				res = awdeorio.get("/uploads/" + post1Image)
				switch tc.mode {
				case media.DeliverRedirect:
					checkRedirect(t, app, res, ttl)
					if again := awdeorio.get("/uploads/" + post1Image); again.Location != res.Location {
						t.Errorf("a second view signed a new URL: %s, then %s", res.Location, again.Location)
					}
					origin := app.S3.Endpoint
					if csp := awdeorio.get("/").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' "+origin+";") {
						t.Errorf("page CSP %q does not allow images from %s", csp, origin)
					}
				case media.DeliverXAccel:
					if res.Status != http.StatusOK || res.Body != "" {
						t.Errorf("status %d with %d bytes; want 200 and no body (nginx sends it)", res.Status, len(res.Body))
					}
					if csp := awdeorio.get("/").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self';") {
						t.Errorf("page CSP %q: want images from the site only", csp)
					}
				}
				if got, want := fetchHandoff(t, app, res), stored(t, app, post1Image); !bytes.Equal(got, want) {
					t.Errorf("handed off %d bytes, want the %d stored", len(got), len(want))
				}

				// An upload stored before variants existed: the first
				// request for one makes them, or hands off the upload.
				old := blob.NewName(".png")
				if err := app.Media.Put(context.Background(), old, bytes.NewReader(pngImage(t))); err != nil {
					t.Fatal(err)
				}
				variant := blob.VariantName(old, 320)
				res = awdeorio.get("/uploads/" + variant)
				want := old
				if app.HasUpload(t, variant) {
					want = variant
				}
				if got := fetchHandoff(t, app, res); !bytes.Equal(got, stored(t, app, want)) {
					t.Errorf("%s: handed off %d bytes, not those of %s", variant, len(got), want)
				}

				if tc.store == "local" {
					// Only regular files: a link or directory named like
					// an upload is not there.
					link, dir := blob.NewName(".jpg"), blob.NewName(".jpg")
					if err := os.Symlink(filepath.Join(app.UploadDir, post1Image), filepath.Join(app.UploadDir, link)); err != nil {
						t.Fatal(err)
					}
					if err := os.Mkdir(filepath.Join(app.UploadDir, dir), 0o755); err != nil {
						t.Fatal(err)
					}
					for _, name := range []string{link, dir} {
						if res := awdeorio.get("/uploads/" + name); res.Status != http.StatusNotFound || res.Header.Get("X-Accel-Redirect") != "" {
							t.Errorf("non-regular %s: status %d, X-Accel-Redirect %q; want 404", name, res.Status, res.Header.Get("X-Accel-Redirect"))
						}
					}
				}

				// A deleted post's picture is gone at once, though its URL
				// was handed out a moment ago.
				res = awdeorio.submit("/posts/?target=/", map[string]string{"operation": "create"}, &upload{"me.png", pngImage(t)})
				if res.Status != http.StatusFound {
					t.Fatalf("new post: status %d\n%s", res.Status, res.Body)
				}
				thumbs, err := app.Store.PostsByOwner(context.Background(), "awdeorio")
				if err != nil {
					t.Fatal(err)
				}
				newest := thumbs[0]
				for _, p := range thumbs {
					if p.PostID > newest.PostID {
						newest = p
					}
				}
				if res := awdeorio.get("/uploads/" + newest.Filename); res.Status == http.StatusNotFound {
					t.Fatalf("the new post's picture: 404")
				}
				if res := awdeorio.submit("/posts/", map[string]string{"operation": "delete", "postid": strconv.FormatInt(newest.PostID, 10)}, nil); res.Status != http.StatusFound {
					t.Fatalf("delete: status %d\n%s", res.Status, res.Body)
				}
				if res := awdeorio.get("/uploads/" + newest.Filename); res.Status != http.StatusNotFound {
					t.Errorf("the deleted post's picture: status %d, want 404", res.Status)
				}
			})
		}
	})
}

// checkRedirect checks a redirect to a presigned URL: a 302 to the S3
// server that the browser may cache no longer than the URL works, which is
// at most ttl.
func checkRedirect(t *testing.T, app *testenv.App, res response, ttl time.Duration) {
	t.Helper()
	if res.Status != http.StatusFound || !strings.HasPrefix(res.Location, app.S3.Endpoint+"/") {
		t.Fatalf("status %d, Location %q; want 302 to %s", res.Status, res.Location, app.S3.Endpoint)
	}
	u, err := url.Parse(res.Location)
	if err != nil {
		t.Fatal(err)
	}
	expires, err := strconv.Atoi(u.Query().Get("X-Amz-Expires"))
	if err != nil || expires <= 0 || time.Duration(expires)*time.Second > ttl {
		t.Errorf("X-Amz-Expires %q, want at most %s", u.Query().Get("X-Amz-Expires"), ttl)
	}
	cc := res.Header.Get("Cache-Control")
	age, err := strconv.Atoi(strings.TrimPrefix(cc, "private, max-age="))
	if !strings.HasPrefix(cc, "private, max-age=") || err != nil || age <= 0 || time.Duration(age)*time.Second > ttl {
		t.Errorf("Cache-Control %q: want private, for at most %s", cc, ttl)
	}
}
