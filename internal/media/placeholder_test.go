package media_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"testing"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
)

// TestSamplePicturesMatchTheirRows: the size and colour rows the sample
// data carries (dbadmin.SamplePictures, sql/data.sql) are what the pipeline
// makes of the sample pictures.
func TestSamplePicturesMatchTheirRows(t *testing.T) {
	ctx := context.Background()
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	profiles, posts := dbadmin.SampleImages()
	if err := media.WriteSample(ctx, store, profiles, posts); err != nil {
		t.Fatal(err)
	}
	for _, want := range dbadmin.SamplePictures {
		f, err := store.Open(ctx, want.Filename)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := media.Describe(data)
		if err != nil {
			t.Fatal(err)
		}
		// The row has the colour of the picture before JPEG encoding; decoded,
		// a channel may be a unit or two off.
		if got.Width != want.Width || got.Height != want.Height || !nearColor(got.Color, want.Color, 2) {
			t.Errorf("%s is %+v; its row says %+v", want.Filename, got, want)
		}
	}
}

// TestSaveReturnsSizeAndColour: what Save returns is the stored picture's
// size and average colour, for each stored format, transparency ignored.
func TestSaveReturnsSizeAndColour(t *testing.T) {
	ctx := context.Background()
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Left half red, right half blue; a transparent band that must not
	// count.
	drawn := func(w, h int) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				c := color.RGBA{200, 0, 0, 255}
				if x >= w/2 {
					c = color.RGBA{0, 0, 200, 255}
				}
				if y < h/4 {
					c = color.RGBA{}
				}
				img.SetRGBA(x, y, c)
			}
		}
		return img
	}
	var pngData, gifData bytes.Buffer
	if err := png.Encode(&pngData, drawn(2000, 1000)); err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 300, 100), color.Palette{color.RGBA{}, color.RGBA{200, 0, 0, 255}, color.RGBA{0, 0, 200, 255}})
	src := drawn(300, 100)
	for y := range 100 {
		for x := range 300 {
			pal.Set(x, y, src.At(x, y))
		}
	}
	if err := gif.Encode(&gifData, pal, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		data      []byte
		w, h      int
		wantColor string
	}{
		{"a.png", pngData.Bytes(), 1080, 540, "#640064"},
		{"a.gif", gifData.Bytes(), 300, 100, "#640064"},
	} {
		name, info, err := media.Save(ctx, store, bytes.NewReader(c.data), c.name, 1<<24)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if info != (media.Info{Width: c.w, Height: c.h, Color: c.wantColor}) {
			t.Errorf("%s: Save says %+v, want %dx%d %s", c.name, info, c.w, c.h, c.wantColor)
		}
		f, err := store.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(f)
		f.Close()
		if stored, err := media.Describe(data); err != nil || stored.Width != info.Width || stored.Height != info.Height {
			t.Errorf("%s: stored picture is %+v (%v); Save said %+v", c.name, stored, err, info)
		}
	}
	if _, err := media.Describe([]byte("not a picture")); err != media.ErrNotImage {
		t.Errorf("Describe(text) = %v, want ErrNotImage", err)
	}
}

// nearColor reports whether "#rrggbb" colours a and b differ by at most d
// in each channel.
func nearColor(a, b string, d int) bool {
	var ar, ag, ab, br, bg, bb int
	if _, err := fmt.Sscanf(a, "#%02x%02x%02x", &ar, &ag, &ab); err != nil {
		return false
	}
	if _, err := fmt.Sscanf(b, "#%02x%02x%02x", &br, &bg, &bb); err != nil {
		return false
	}
	near := func(x, y int) bool { return x-y <= d && y-x <= d }
	return near(ar, br) && near(ag, bg) && near(ab, bb)
}
