package media

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"math"

	"github.com/insta485/insta485/internal/blob"
)

// palette is a set of colours that go together: sky top and bottom, sun,
// and three layers of hills from far to near.
type palette struct{ skyTop, skyLow, sun, far, mid, near color.RGBA }

var palettes = []palette{
	{rgb(0x1d3557), rgb(0xf4a261), rgb(0xffe8a3), rgb(0x6d597a), rgb(0x355070), rgb(0x1b263b)}, // dusk
	{rgb(0x48cae4), rgb(0xcaf0f8), rgb(0xfffbe0), rgb(0x95d5b2), rgb(0x52b788), rgb(0x2d6a4f)}, // spring
	{rgb(0x3a0ca3), rgb(0xf72585), rgb(0xffd6e8), rgb(0x7209b7), rgb(0x560bad), rgb(0x240046)}, // neon
	{rgb(0x264653), rgb(0xe9c46a), rgb(0xfff3c4), rgb(0x2a9d8f), rgb(0x287271), rgb(0x1d3b3a)}, // desert
	{rgb(0x0b132b), rgb(0x3a506b), rgb(0xf0f3f5), rgb(0x5bc0be), rgb(0x1c2541), rgb(0x0b132b)}, // night
	{rgb(0xff7b00), rgb(0xffd000), rgb(0xfff6d5), rgb(0xd00000), rgb(0x9d0208), rgb(0x370617)}, // sunset
	{rgb(0x90e0ef), rgb(0xfefae0), rgb(0xffffff), rgb(0xa3b18a), rgb(0x588157), rgb(0x3a5a40)}, // meadow
	{rgb(0x5e548e), rgb(0xe0b1cb), rgb(0xfff0f6), rgb(0xbe95c4), rgb(0x9f86c0), rgb(0x231942)}, // lavender
}

func rgb(v uint32) color.RGBA {
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
}

func lerp(a, b color.RGBA, t float64) color.RGBA {
	f := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t) }
	return color.RGBA{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B), 0xff}
}

// seedOf turns any string into generator parameters.
func seedOf(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// Landscape draws a size×size scene (gradient sky, a sun, three rolling
// ranges of hills) chosen by seed and returns it as a JPEG.
func Landscape(seed string, size int) []byte {
	x := seedOf(seed)
	return landscape(x, int(x%uint64(len(palettes))), size)
}

func landscape(x uint64, pal, size int) []byte {
	p := palettes[pal%len(palettes)]
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	s := float64(size)
	sunX := s * (0.2 + 0.6*float64((x>>8)%100)/100)
	sunY := s * (0.2 + 0.2*float64((x>>16)%100)/100)
	sunR := s * (0.07 + 0.06*float64((x>>24)%100)/100)
	type hill struct {
		base, amp, freq, phase float64
		c                      color.RGBA
	}
	hills := []hill{
		{0.55, 0.08, 1.5 + float64((x>>32)%10)/5, float64((x >> 36) % 628), p.far},
		{0.68, 0.07, 2.2 + float64((x>>40)%10)/5, float64((x >> 44) % 628), p.mid},
		{0.82, 0.06, 3.0 + float64((x>>48)%10)/5, float64((x >> 52) % 628), p.near},
	}
	for py := 0; py < size; py++ {
		fy := float64(py)
		sky := lerp(p.skyTop, p.skyLow, fy/s)
		for px := 0; px < size; px++ {
			fx := float64(px)
			c := sky
			if d := math.Hypot(fx-sunX, fy-sunY); d < sunR {
				c = p.sun
			} else if d < sunR*2.2 {
				c = lerp(p.sun, sky, (d-sunR)/(sunR*1.2))
			}
			for _, h := range hills {
				top := s * (h.base - h.amp*math.Sin(h.freq*fx/s*2*math.Pi+h.phase/100))
				if fy >= top {
					c = lerp(h.c, color.RGBA{0, 0, 0, 0xff}, math.Min(0.25, (fy-top)/s*0.6))
				}
			}
			img.SetRGBA(px, py, c)
		}
	}
	return encode(img)
}

// Avatar draws a size×size portrait silhouette (head and shoulders on a
// coloured disc) chosen by seed and returns it as a JPEG.
func Avatar(seed string, size int) []byte {
	x := seedOf(seed)
	return avatar(int(x%uint64(len(palettes))), size)
}

func avatar(pal, size int) []byte {
	p := palettes[pal%len(palettes)]
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	s := float64(size)
	bg := lerp(p.skyLow, p.sun, 0.5)
	ring := p.mid
	figure := p.near
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			fx, fy := float64(px)/s, float64(py)/s
			c := lerp(bg, p.skyTop, fy*0.5)
			if math.Hypot(fx-0.5, fy-0.5) > 0.47 {
				c = ring
			}
			// Head: a circle; shoulders: the top of a wide ellipse.
			if math.Hypot(fx-0.5, fy-0.4) < 0.17 {
				c = figure
			}
			if ex, ey := (fx-0.5)/0.32, (fy-0.98)/0.34; ex*ex+ey*ey < 1 {
				c = figure
			}
			img.SetRGBA(px, py, c)
		}
	}
	return encode(img)
}

func encode(img image.Image) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		panic("media: encode generated image: " + err.Error())
	}
	return buf.Bytes()
}

// WriteSample stores the sample data's pictures: an avatar under each name
// in profiles, a landscape under each name in posts, every one in its own
// palette so that all of them look different. They go through the upload
// pipeline (PutPicture), so they have the same width variants as uploads.
func WriteSample(ctx context.Context, store blob.Store, profiles, posts []string) error {
	_, err := writeSample(ctx, store, profiles, posts, func(string) (bool, error) { return true, nil })
	return err
}

// WriteMissingSample stores the sample pictures that want accepts and the
// store lacks, the same pictures WriteSample makes, and returns how many it
// wrote: for a database loaded by hand (psql -f sql/data.sql), whose rows
// name sample pictures no tool wrote.
func WriteMissingSample(ctx context.Context, store blob.Store, profiles, posts []string, want func(name string) bool) (int, error) {
	return writeSample(ctx, store, profiles, posts, func(name string) (bool, error) {
		if !want(name) {
			return false, nil
		}
		f, err := store.Open(ctx, name)
		if errors.Is(err, blob.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return false, f.Close()
	})
}

func writeSample(ctx context.Context, store blob.Store, profiles, posts []string, write func(name string) (bool, error)) (int, error) {
	n := 0
	put := func(name string, img func() []byte) error {
		ok, err := write(name)
		if err != nil || !ok {
			return err
		}
		n++
		return PutPicture(ctx, store, name, img())
	}
	for i, name := range profiles {
		if err := put(name, func() []byte { return avatar(i, 320) }); err != nil {
			return n, err
		}
	}
	for i, name := range posts {
		if err := put(name, func() []byte { return landscape(seedOf(name), len(profiles)+i, 640) }); err != nil {
			return n, err
		}
	}
	return n, nil
}
