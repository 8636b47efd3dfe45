package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

var (
	red  = testenv.MarkTopLeft
	blue = testenv.MarkTopRight
)

// segments lists a JPEG's marker segments before the image data.
func segments(t *testing.T, jpg []byte) []byte {
	t.Helper()
	var markers []byte
	for i := 2; i+4 <= len(jpg); {
		m := jpg[i+1]
		markers = append(markers, m)
		if m == 0xDA {
			break
		}
		i += 2 + int(binary.BigEndian.Uint16(jpg[i+2:]))
	}
	return markers
}

func near(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { return int(x>>8)-int(y) < 40 && int(y)-int(x>>8) < 40 }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// TestOrientationIsAppliedAndMetadataDropped turns a 64×32 photo as each of
// the eight EXIF orientations says and checks where its marked corners end.
func TestOrientationIsAppliedAndMetadataDropped(t *testing.T) {
	// Where the source's top-left (red) and top-right (blue) corners are
	// displayed: "TL", "TR", "BL", "BR".
	want := map[uint16][2]string{
		1: {"TL", "TR"}, 2: {"TR", "TL"}, 3: {"BR", "BL"}, 4: {"BL", "BR"},
		5: {"TL", "BL"}, 6: {"TR", "BR"}, 7: {"BR", "TR"}, 8: {"BL", "TL"},
	}
	src := testenv.MarkedPhoto(t, 64, 32)
	for o := uint16(1); o <= 8; o++ {
		pic, err := media.Process(context.Background(), testenv.WithEXIF(src, o))
		if err != nil {
			t.Fatalf("orientation %d: %v", o, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(pic.Data))
		if err != nil {
			t.Fatal(err)
		}
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		if wantW, wantH := 64, 32; o >= 5 {
			wantW, wantH = 32, 64
			if w != wantW || h != wantH {
				t.Errorf("orientation %d: %dx%d, want %dx%d", o, w, h, wantW, wantH)
			}
		} else if w != wantW || h != wantH {
			t.Errorf("orientation %d: %dx%d, want %dx%d", o, w, h, wantW, wantH)
		}
		corner := map[string]color.Color{
			"TL": img.At(2, 2), "TR": img.At(w-3, 2), "BL": img.At(2, h-3), "BR": img.At(w-3, h-3),
		}
		if !near(corner[want[o][0]], red) || !near(corner[want[o][1]], blue) {
			t.Errorf("orientation %d: red should be %s and blue %s; corners are %v", o, want[o][0], want[o][1], corner)
		}
		for _, m := range segments(t, pic.Data) {
			if m == 0xE1 || m == 0xFE || m == 0xE2 {
				t.Errorf("orientation %d: the stored JPEG still has marker %#x (EXIF, XMP, ICC or a comment)", o, m)
			}
		}
	}
}

// TestExiftoolFindsNoMetadata checks the stored file with exiftool, after
// checking with it that the upload really carried GPS and orientation.
func TestExiftoolFindsNoMetadata(t *testing.T) {
	exiftool := testenv.LookTool(t, "exiftool")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jpg")
	os.WriteFile(in, testenv.WithEXIF(testenv.MarkedPhoto(t, 64, 32), 6), 0o644)
	tags := func(path string) string {
		out, err := exec.Command(exiftool, "-a", "-G1", "-s", path).CombinedOutput()
		if err != nil {
			t.Fatalf("exiftool %s: %v\n%s", path, err, out)
		}
		return string(out)
	}
	before := tags(in)
	for _, tag := range []string{"GPSLatitude", "Orientation", "Comment"} {
		if !strings.Contains(before, tag) {
			t.Fatalf("the test's upload lacks %s; exiftool says:\n%s", tag, before)
		}
	}
	store, _ := blob.NewLocal(filepath.Join(dir, "uploads"))
	data, _ := os.ReadFile(in)
	name, err := media.Save(context.Background(), store, bytes.NewReader(data), "in.jpg", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{name, blob.VariantName(name, 320), blob.VariantName(name, 640)} {
		after := tags(filepath.Join(store.Dir, n))
		for _, group := range []string{"[IFD0]", "[ExifIFD]", "[GPS]", "GPS", "[XMP", "[ICC", "Comment", "Orientation", "Warning"} {
			if strings.Contains(after, group) {
				t.Errorf("%s still has %s metadata:\n%s", n, group, after)
			}
		}
		// Upright: the 64×32 sensor picture displays 32 wide, 64 high.
		if !strings.Contains(after, ": 32x64") {
			t.Errorf("exiftool does not see %s as a 32x64 picture:\n%s", n, after)
		}
	}
}

func TestLargePicturesAreScaledDownWithVariants(t *testing.T) {
	var b bytes.Buffer
	png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 2000, 1000)))
	pic, err := media.Process(context.Background(), b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if pic.Ext != ".png" || pic.Width != 1080 || pic.Height != 540 {
		t.Fatalf("got %s %dx%d, want .png 1080x540", pic.Ext, pic.Width, pic.Height)
	}
	check := func(what string, data []byte, w, h int) {
		t.Helper()
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || format != "png" || cfg.Width != w || cfg.Height != h {
			t.Errorf("%s: %s %dx%d (%v), want png %dx%d", what, format, cfg.Width, cfg.Height, err, w, h)
		}
	}
	check("main", pic.Data, 1080, 540)
	check("w320", pic.Variants[0].Data, 320, 160)
	check("w640", pic.Variants[1].Data, 640, 320)

	// A tall one is bounded by its height.
	tall := testenv.MarkedPhoto(t, 300, 1500)
	pic, err = media.Process(context.Background(), tall)
	if err != nil {
		t.Fatal(err)
	}
	if pic.Width != 216 || pic.Height != 1080 {
		t.Errorf("300x1500 became %dx%d, want 216x1080", pic.Width, pic.Height)
	}
	// Narrower than a variant: the variant is the picture itself.
	if !bytes.Equal(pic.Variants[0].Data, pic.Data) {
		t.Error("a 216-pixel-wide picture's 320 variant differs from it")
	}
}

func TestBombsAndJunkAreRefused(t *testing.T) {
	// Many frames of a small GIF: each is cheap to store, not to decode.
	var frames bytes.Buffer
	g := &gif.GIF{}
	for range media.MaxFrames + 1 {
		g.Image = append(g.Image, image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}))
		g.Delay = append(g.Delay, 1)
	}
	if err := gif.EncodeAll(&frames, g); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"20000x20000 png", testenv.PNGHeader(20000, 20000), media.ErrTooManyPixels},
		{"1x60000000 png", testenv.PNGHeader(1, 60_000_000), media.ErrTooManyPixels},
		{"png signature and random bytes", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 64)...), media.ErrNotImage},
		{"png header with no pixels", testenv.PNGHeader(100, 100), media.ErrNotImage},
		{"jpeg cut short", testenv.MarkedPhoto(t, 64, 64)[:300], media.ErrNotImage},
		{"gif with too many frames", frames.Bytes(), media.ErrTooManyPixels},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			store, _ := blob.NewLocal(dir)
			name, err := media.Save(context.Background(), store, bytes.NewReader(c.data), "x.png", 1<<20)
			if !errors.Is(err, c.want) {
				t.Fatalf("Save = %q, %v; want %v", name, err, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a refused upload left %d files", len(entries))
			}
		})
	}
}

func TestWebPBecomesJPEGOrPNG(t *testing.T) {
	for file, ext := range map[string]string{
		"blue-purple-pink.lossy.webp":       ".jpg",
		"yellow_rose.lossy-with-alpha.webp": ".png",
	} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		store, _ := blob.NewLocal(t.TempDir())
		name, err := media.Save(context.Background(), store, bytes.NewReader(data), "photo.webp", 1<<20)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if filepath.Ext(name) != ext {
			t.Errorf("%s stored as %s, want %s", file, name, ext)
		}
		got, _ := os.ReadFile(filepath.Join(store.Dir, name))
		if _, format, err := image.Decode(bytes.NewReader(got)); err != nil || "."+format != strings.Replace(ext, "jpg", "jpeg", 1) {
			t.Errorf("%s: stored %s decodes as %q, %v", file, name, format, err)
		}
	}
}

func TestAnimatedGIFStaysAnimated(t *testing.T) {
	pal := color.Palette{color.Transparent, color.Black, red, blue}
	g := &gif.GIF{LoopCount: 0}
	for i := range 3 {
		fr := image.NewPaletted(image.Rect(0, 0, 1200, 600), pal)
		for y := range 600 {
			for x := i * 400; x < (i+1)*400; x++ {
				fr.SetColorIndex(x, y, uint8(1+i))
			}
		}
		g.Image = append(g.Image, fr)
		g.Delay = append(g.Delay, 10*(i+1))
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	pic, err := media.Process(context.Background(), b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		data []byte
		w, h int
	}{{pic.Data, 1080, 540}, {pic.Variants[0].Data, 320, 160}, {pic.Variants[1].Data, 640, 320}} {
		out, err := gif.DecodeAll(bytes.NewReader(v.data))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Image) != 3 || out.Delay[2] != 30 || out.Config.Width != v.w || out.Config.Height != v.h {
			t.Errorf("got %d frames, delays %v, %dx%d; want 3 frames, delays 10 20 30, %dx%d",
				len(out.Image), out.Delay, out.Config.Width, out.Config.Height, v.w, v.h)
		}
		// The last frame shows the third stripe in its right third.
		last := out.Image[2]
		if !near(last.At(v.w*5/6, v.h/2), blue) {
			t.Errorf("%dx%d: the last frame's right third is %v, want blue", v.w, v.h, last.At(v.w*5/6, v.h/2))
		}
	}
}

func TestSymlinksAreNeverOpened(t *testing.T) {
	dir := t.TempDir()
	store, _ := blob.NewLocal(dir)
	name := blob.NewName(".jpg")
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(context.Background(), name); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open of a symlink = %v, want ErrNotFound", err)
	}
	// A directory named like an upload is not one either.
	dirName := blob.NewName(".png")
	os.Mkdir(filepath.Join(dir, dirName), 0o755)
	if _, err := store.Open(context.Background(), dirName); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open of a directory = %v, want ErrNotFound", err)
	}
	names, _ := blob.Names(context.Background(), store)
	if len(names) != 0 {
		t.Errorf("List offered %v", names)
	}
}

func TestNames(t *testing.T) {
	main := blob.NewName(".jpeg")
	for _, w := range media.VariantWidths {
		v := blob.VariantName(main, w)
		if !blob.ValidName(v) {
			t.Errorf("variant name %q is not a valid name", v)
		}
		if m, got := blob.MainName(v); m != main || got != w {
			t.Errorf("MainName(%q) = %q, %d", v, m, got)
		}
	}
	if m, w := blob.MainName(main); m != main || w != 0 {
		t.Errorf("MainName(%q) = %q, %d", main, m, w)
	}
	for _, bad := range []string{strings.TrimSuffix(main, ".jpeg") + "-w100.jpeg", strings.TrimSuffix(main, ".jpeg") + "-w320-w320.jpeg", "-w320.jpg"} {
		if blob.ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
}
