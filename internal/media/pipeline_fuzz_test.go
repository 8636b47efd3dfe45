package media_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// FuzzProcess feeds the pipeline arbitrary bytes (seeded with every kind of
// upload it knows). Whatever the input, it must not panic, must refuse
// with one of its errors or return a picture within MaxSide that decodes,
// and must never accept an input that declares more than MaxPixels.
// `go test` runs the seeds; `go test -fuzz FuzzProcess ./internal/media`
// explores further.
func FuzzProcess(f *testing.F) {
	var p bytes.Buffer
	png.Encode(&p, image.NewNRGBA(image.Rect(0, 0, 3, 2)))
	var g bytes.Buffer
	gif.EncodeAll(&g, &gif.GIF{
		Image: []*image.Paletted{
			image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}),
			image.NewPaletted(image.Rect(1, 1, 3, 3), color.Palette{color.Black, color.White}),
		},
		Delay:    []int{5, 5},
		Disposal: []byte{gif.DisposalBackground, gif.DisposalPrevious},
	})
	f.Add(p.Bytes())
	f.Add(g.Bytes())
	f.Add(testenv.WithEXIF(testenv.MarkedPhoto(f, 16, 8), 6))
	f.Add(testenv.WithEXIF(testenv.MarkedPhoto(f, 8, 8), 9))
	f.Add(testenv.PNGHeader(20000, 20000))
	f.Add(testenv.PNGHeader(1, 1))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00"))
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,"))
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08"))
	for _, name := range []string{"blue-purple-pink.lossy.webp", "yellow_rose.lossy-with-alpha.webp"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pic, err := media.Process(context.Background(), data)
		if err != nil {
			if !errors.Is(err, media.ErrNotImage) && !errors.Is(err, media.ErrTooManyPixels) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("accepted an input whose header does not decode: %v", err)
		}
		if int64(cfg.Width)*int64(cfg.Height) > media.MaxPixels {
			t.Fatalf("accepted %dx%d, over the pixel limit", cfg.Width, cfg.Height)
		}
		if pic.Width > media.MaxSide || pic.Height > media.MaxSide || pic.Width < 1 || pic.Height < 1 {
			t.Fatalf("stored size %dx%d", pic.Width, pic.Height)
		}
		out, _, err := image.DecodeConfig(bytes.NewReader(pic.Data))
		if err != nil || out.Width != pic.Width || out.Height != pic.Height {
			t.Fatalf("the stored picture decodes as %dx%d, %v; want %dx%d", out.Width, out.Height, err, pic.Width, pic.Height)
		}
		if len(pic.Variants) != len(media.VariantWidths) {
			t.Fatalf("%d variants", len(pic.Variants))
		}
	})
}

// FuzzNames checks that MainName and ValidName agree: a valid name's main
// name is valid and has no width.
func FuzzNames(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef-w320.jpg")
	f.Add("0123456789abcdef0123456789abcdef.png")
	f.Add("-w320.jpg")
	f.Add("../x-w640.gif")
	f.Fuzz(func(t *testing.T, name string) {
		if !blob.ValidName(name) {
			return
		}
		main, w := blob.MainName(name)
		if !blob.ValidName(main) {
			t.Fatalf("MainName(%q) = %q, not a valid name", name, main)
		}
		if _, again := blob.MainName(main); again != 0 {
			t.Fatalf("MainName(%q) = %q is itself a variant", name, main)
		}
		if w != 0 && blob.VariantName(main, w) != name {
			t.Fatalf("VariantName(MainName(%q)) = %q", name, blob.VariantName(main, w))
		}
	})
}
