package media_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/media"
)

func pngBytes(t *testing.T, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, size, size))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black}), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var nameRE = regexp.MustCompile(`^[0-9a-f]{32}\.(png|jpg|jpeg|gif|webp)$`)

func TestSaveAcceptsImagesByContent(t *testing.T) {
	jpg := media.Landscape("x", 32)
	cases := []struct {
		name     string
		data     []byte
		original string
		wantExt  string
		wantErr  error
	}{
		{"png", pngBytes(t, 8), "photo.PNG", ".png", nil},
		{"jpeg keeps .jpeg", jpg, "Photo.JPEG", ".jpeg", nil},
		{"jpg", jpg, "a.jpg", ".jpg", nil},
		{"gif", gifBytes(t), "a.gif", ".gif", nil},
		{"webp header without a picture", append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 40)...), "a.webp", "", media.ErrNotImage},
		{"png signature then random bytes", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0x5a, 0x13, 0xc7}, 200)...), "a.png", "", media.ErrNotImage},
		{"truncated png", pngBytes(t, 64)[:120], "a.png", "", media.ErrNotImage},
		{"wrong extension takes the content's", pngBytes(t, 8), "a.gif", ".png", nil},
		{"no extension", pngBytes(t, 8), "upload", ".png", nil},
		{"text named .jpg", []byte("hello, I am not an image at all"), "evil.jpg", "", media.ErrNotImage},
		{"html named .png", []byte("<html><script>alert(1)</script></html>"), "x.png", "", media.ErrNotImage},
		{"svg is refused", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), "x.svg", "", media.ErrNotImage},
		{"empty", nil, "a.png", "", media.ErrEmpty},
		{"too large", append(pngBytes(t, 8), make([]byte, 5000)...), "big.png", "", media.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			store, _ := blob.NewLocal(dir)
			name, err := media.Save(context.Background(), store, bytes.NewReader(c.data), c.original, 2000)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("Save = %q, %v; want %v", name, err, c.wantErr)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("a refused upload left %d files behind", len(entries))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !nameRE.MatchString(name) || filepath.Ext(name) != c.wantExt {
				t.Errorf("name %q, want 32 hex + %s", name, c.wantExt)
			}
			// The stored file is a re-encoding that decodes to the same size,
			// with both variants beside it.
			for _, n := range []string{name, blob.VariantName(name, 320), blob.VariantName(name, 640)} {
				f, err := store.Open(context.Background(), n)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(f)
				f.Close()
				cfg, _, err := image.DecodeConfig(bytes.NewReader(got))
				if err != nil {
					t.Fatalf("stored %s does not decode: %v", n, err)
				}
				if want, _, _ := image.DecodeConfig(bytes.NewReader(c.data)); cfg.Width != want.Width || cfg.Height != want.Height {
					t.Errorf("stored %s is %dx%d, want %dx%d", n, cfg.Width, cfg.Height, want.Width, want.Height)
				}
			}
		})
	}
}

func TestLocalStoreStaysInsideItsDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.jpg"), []byte("x"), 0o644)
	store, _ := blob.NewLocal(dir)
	ctx := context.Background()
	for _, name := range []string{"../secret.jpg", "/etc/passwd", "a/b.jpg", "..", "", ".upload-123", "0123456789abcdef0123456789abcdef.exe",
		"0123456789ABCDEF0123456789ABCDEF.jpg", "0123456789abcdef0123456789abcdef.jpg/../../secret.jpg"} {
		if _, err := store.Open(ctx, name); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", name, err)
		}
		if err := store.Put(ctx, name, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", name)
		}
	}
	if err := store.Delete(ctx, "0123456789abcdef0123456789abcdef.jpg"); err != nil {
		t.Errorf("deleting a missing file = %v", err)
	}
	if err := store.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Clear left the directory: %v", err)
	}
}

func TestSampleImagesAreDistinctJPEGs(t *testing.T) {
	dir := t.TempDir()
	store, _ := blob.NewLocal(dir)
	profiles := []string{"e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg", "505083b8b56c97429a728b68f31b0b2a089e5113.jpg",
		"5ecde7677b83304132cb2871516ea50032ff7a4f.jpg", "73ab33bd357c3fd42292487b825880958c595655.jpg"}
	posts := []string{"122a7d27ca1d7420a1072f695d9290fad4501a41.jpg", "ad7790405c539894d25ab8dcf0b79eed3341e109.jpg",
		"9887e06812ef434d291e4936417d125cd594b38a.jpg", "2ec7cf8ae158b3b1f40065abfb33e81143707842.jpg"}
	if err := media.WriteSample(context.Background(), store, profiles, posts); err != nil {
		t.Fatal(err)
	}
	seen := map[[32]byte]string{}
	for _, n := range append(profiles, posts...) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is not a JPEG: %v", n, err)
		}
		if w := img.Bounds().Dx(); w < 300 {
			t.Errorf("%s is only %d pixels wide", n, w)
		}
		sum := sha256.Sum256(b)
		if other, dup := seen[sum]; dup {
			t.Errorf("%s is the same picture as %s", n, other)
		}
		seen[sum] = n
	}
}

func TestClearRemovesOnlyUploads(t *testing.T) {
	dir := t.TempDir()
	store, _ := blob.NewLocal(dir)
	ctx := context.Background()
	name, err := media.Save(ctx, store, bytes.NewReader(pngBytes(t, 4)), "a.png", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ".upload-123"), []byte("half"), 0o644)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("not an upload"), 0o644)
	if err := store.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "README.md" {
		t.Errorf("after Clear the directory holds %v, want only README.md", entries)
	}
	if _, err := store.Open(ctx, name); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("the upload survived Clear: %v", err)
	}
	os.Remove(filepath.Join(dir, "README.md"))
	if err := store.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an empty upload directory was left: %v", err)
	}
}
