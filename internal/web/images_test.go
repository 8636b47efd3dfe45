package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// TestUploadedPhotoIsUprightAndStripped posts a phone photo (orientation 6,
// GPS position, a comment) through the site: the stored picture is turned
// upright, carries no metadata, and its variants are served to logged-in
// users only, like the upload itself.
func TestUploadedPhotoIsUprightAndStripped(t *testing.T) {
	t.Parallel()
	testenv.ForEachBackendAndStore(t, func(t *testing.T, backend, store string) {
		t.Parallel()
		app := testenv.NewApp(t, backend, testenv.WithUploadStore(store))
		c := loggedIn(t, app, "awdeorio")
		photo := testenv.WithEXIF(testenv.MarkedPhoto(t, 1600, 800), 6)
		res := c.submit("/posts/?target=/", map[string]string{"operation": "create"}, &upload{"IMG_0001.JPG", photo})
		if res.Status != 302 {
			t.Fatalf("upload: status %d: %s", res.Status, pageText(res.Body))
		}
		p, ok := post(t, app, 5, "awdeorio")
		if !ok || !strings.HasSuffix(p.Filename, ".jpg") {
			t.Fatalf("post 5 = %+v", p)
		}
		main := c.get("/uploads/" + p.Filename)
		if main.Status != 200 || main.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("GET the upload: %d %q", main.Status, main.Header.Get("Content-Type"))
		}
		img, err := jpeg.Decode(strings.NewReader(main.Body))
		if err != nil {
			t.Fatal(err)
		}
		// 1600×800 turned a quarter clockwise is 800×1600, scaled to 540×1080;
		// the sensor's top-left corner is now the top-right one.
		if b := img.Bounds(); b.Dx() != 540 || b.Dy() != 1080 {
			t.Errorf("stored picture is %dx%d, want 540x1080", b.Dx(), b.Dy())
		}
		if !nearColor(img.At(530, 10), testenv.MarkTopLeft) || !nearColor(img.At(10, 10), color.RGBA{128, 128, 128, 255}) {
			t.Errorf("top-right is %v, top-left %v: not turned upright", img.At(530, 10), img.At(10, 10))
		}
		for _, needle := range []string{"Exif", "shot at home", "http://ns.adobe.com"} {
			if strings.Contains(main.Body, needle) {
				t.Errorf("the stored picture still contains %q", needle)
			}
		}

		for _, w := range media.VariantWidths {
			name := blob.VariantName(p.Filename, w)
			res := c.get("/uploads/" + name)
			if res.Status != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("GET %s: %d %q", name, res.Status, res.Header.Get("Content-Type"))
			}
			// Never scaled up: the 640 variant of a 540-wide picture is 540 wide.
			cfg, err := jpeg.DecodeConfig(strings.NewReader(res.Body))
			if want := min(w, 540); err != nil || cfg.Width != want || cfg.Height != 2*want {
				t.Errorf("%s is %dx%d (%v), want %dx%d", name, cfg.Width, cfg.Height, err, want, 2*want)
			}
			if res := newClient(t, app).get("/uploads/" + name); res.Status != 403 {
				t.Errorf("GET %s logged out: status %d, want 403", name, res.Status)
			}
		}

		// Deleting the post deletes the variants with the picture.
		if res := c.submit("/posts/", map[string]string{"operation": "delete", "postid": "5"}, nil); res.Status != 302 {
			t.Fatalf("delete: %d", res.Status)
		}
		for _, n := range []string{p.Filename, blob.VariantName(p.Filename, 320), blob.VariantName(p.Filename, 640)} {
			if fileExists(t, app, n) {
				t.Errorf("%s survived the post's deletion", n)
			}
			if res := c.get("/uploads/" + n); res.Status != 404 {
				t.Errorf("GET %s after delete: %d, want 404", n, res.Status)
			}
		}
	})
}

func nearColor(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { return int(x>>8)-int(y) < 40 && int(y)-int(x>>8) < 40 }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// TestBadPicturesAreRefused: a decompression bomb and junk after a PNG
// signature get 400 with a message, and leave no file and no row.
func TestBadPicturesAreRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file string
		data       []byte
		msg        string
	}{
		{"bomb", "bomb.png", testenv.PNGHeader(20000, 20000), "20000×20000 pixels"},
		{"png signature and random bytes", "x.png", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xc3, 0x5a, 0x01}, 300)...), "must be a whole picture"},
	}
	testenv.ForEachBackendAndStore(t, func(t *testing.T, backend, store string) {
		t.Parallel()
		app := testenv.NewApp(t, backend, testenv.WithUploadStore(store))
		c := loggedIn(t, app, "awdeorio")
		for _, tc := range cases {
			before := snapshot(t, app)
			res := c.submit("/posts/", map[string]string{"operation": "create"}, &upload{tc.file, tc.data})
			if res.Status != 400 || !strings.Contains(pageText(res.Body), tc.msg) {
				t.Errorf("%s: status %d, page %q; want 400 saying %q", tc.name, res.Status, pageText(res.Body), tc.msg)
			}
			res = c.submit("/accounts/", map[string]string{"operation": "edit_account", "fullname": "A", "email": "a@example.com"}, &upload{tc.file, tc.data})
			if res.Status != 400 {
				t.Errorf("%s as a profile photo: status %d, want 400", tc.name, res.Status)
			}
			if after := snapshot(t, app); after != before {
				t.Errorf("%s changed the site:\nbefore %s\nafter %s", tc.name, before, after)
			}
		}
	})
}

var srcsetAttr = regexp.MustCompile(`<img [^>]*src="(/uploads/[^"]+)"[^>]*>`)

// TestPagesOfferVariants: every upload img keeps its src (SPEC §3) and
// adds a srcset of its variants and itself, with sizes; the variants of
// the sample pictures exist.
func TestPagesOfferVariants(t *testing.T) {
	t.Parallel()
	app := testenv.NewApp(t, "sqlite")
	c := loggedIn(t, app, "awdeorio")
	for _, page := range []string{"/", "/users/awdeorio/", "/users/awdeorio/followers/", "/explore/", "/posts/3/", "/accounts/edit/"} {
		body := c.get(page).Body
		imgs := srcsetAttr.FindAllStringSubmatch(body, -1)
		if len(imgs) == 0 {
			t.Errorf("%s has no upload img", page)
		}
		for _, m := range imgs {
			a := attrs(strings.TrimPrefix(m[0], "<img "))
			main := strings.TrimPrefix(m[1], "/uploads/")
			want := "/uploads/" + blob.VariantName(main, 320) + " 320w, /uploads/" + blob.VariantName(main, 640) + " 640w, /uploads/" + main + " 1080w"
			if a["srcset"] != want || a["sizes"] == "" {
				t.Errorf("%s: img %s has srcset %q sizes %q, want srcset %q", page, m[0], a["srcset"], a["sizes"], want)
			}
			for _, w := range media.VariantWidths {
				if !fileExists(t, app, blob.VariantName(main, w)) {
					t.Errorf("%s: no %d variant of %s in the store", page, w, main)
				}
			}
		}
	}
}

// TestOldUploadsGetVariantsOnDemand: a picture stored before variants
// existed gets them at its first variant request; one the pipeline cannot
// read is served in the variant's place.
func TestOldUploadsGetVariantsOnDemand(t *testing.T) {
	t.Parallel()
	testenv.ForEachBackendAndStore(t, func(t *testing.T, backend, store string) {
		t.Parallel()
		app := testenv.NewApp(t, backend, testenv.WithUploadStore(store))
		c := loggedIn(t, app, "jag")
		// Post 4's picture as an old insta485 stored it: the bytes as
		// uploaded, no variants.
		ctx := context.Background()
		old := testenv.MarkedPhoto(t, 900, 700)
		if err := media.Remove(ctx, app.Media, post4Image); err != nil {
			t.Fatal(err)
		}
		if err := app.Media.Put(ctx, post4Image, bytes.NewReader(old)); err != nil {
			t.Fatal(err)
		}
		res := c.get("/uploads/" + blob.VariantName(post4Image, 320))
		cfg, _, err := image.DecodeConfig(strings.NewReader(res.Body))
		if res.Status != 200 || err != nil || cfg.Width != 320 {
			t.Fatalf("GET the 320 variant of an old upload: %d, %dx%d, %v", res.Status, cfg.Width, cfg.Height, err)
		}
		for _, w := range media.VariantWidths {
			if !fileExists(t, app, blob.VariantName(post4Image, w)) {
				t.Errorf("variant %d was not stored", w)
			}
		}
		// The upload itself is left as it was.
		if res := c.get("/uploads/" + post4Image); res.Body != string(old) {
			t.Error("making variants changed the old upload")
		}

		// An old upload that is not a whole picture: served as it is.
		junk := append([]byte("\xFF\xD8\xFF\xE0"), bytes.Repeat([]byte{7}, 100)...)
		if err := app.Media.Put(ctx, post4Image, bytes.NewReader(junk)); err != nil {
			t.Fatal(err)
		}
		if err := app.Media.Delete(ctx, blob.VariantName(post4Image, 640)); err != nil {
			t.Fatal(err)
		}
		if res := c.get("/uploads/" + blob.VariantName(post4Image, 640)); res.Status != 200 || res.Body != string(junk) {
			t.Errorf("variant of an unreadable old upload: %d, %d bytes", res.Status, len(res.Body))
		}
		// A variant of an upload that does not exist is 404.
		if res := c.get("/uploads/" + blob.VariantName(blob.NewName(".jpg"), 320)); res.Status != 404 {
			t.Errorf("variant of no upload: %d, want 404", res.Status)
		}
	})
}

// TestSymlinkedUploadIsNotServed: a link named like an upload, pointing
// outside the store, is 404, for the upload name and a variant name.
func TestSymlinkedUploadIsNotServed(t *testing.T) {
	t.Parallel()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		c := loggedIn(t, app, "jag")
		name := blob.NewName(".jpg")
		for _, n := range []string{name, blob.VariantName(post1Image, 320)} {
			os.Remove(filepath.Join(app.UploadDir, n))
			if err := os.Symlink("/etc/passwd", filepath.Join(app.UploadDir, n)); err != nil {
				t.Fatal(err)
			}
		}
		if res := c.get("/uploads/" + name); res.Status != 404 || strings.Contains(res.Body, "root:") {
			t.Errorf("GET a symlink to /etc/passwd: %d", res.Status)
		}
		// The variant's place is taken by a link: not served, and the link
		// is not followed when the variant would be made again.
		res := c.get("/uploads/" + blob.VariantName(post1Image, 320))
		if strings.Contains(res.Body, "root:") {
			t.Errorf("GET a variant that is a symlink served /etc/passwd (%d)", res.Status)
		}
	})
}
