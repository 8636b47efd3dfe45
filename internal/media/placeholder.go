package media

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
)

// Info is what a page needs to lay a picture out before its bytes arrive:
// the stored picture's size in pixels and a placeholder colour.
type Info struct {
	Width, Height int
	// Color is the picture's average colour as "#rrggbb", painted where
	// the picture goes until it arrives. An average rather than a
	// blurhash: one CSS colour, nothing to decode in the browser.
	Color string
}

// Info returns p's size and placeholder colour.
func (p *Picture) Info() Info { return Info{p.Width, p.Height, p.Color} }

// placeholderSamples bounds the pixels averageColor reads on each axis: an
// average over a 64×64 grid is as good as one over every pixel.
const placeholderSamples = 64

// averageColor is img's average colour as "#rrggbb", weighted by opacity
// so that transparent areas count for nothing; mid grey when img is wholly
// transparent.
func averageColor(img image.Image) string {
	b := img.Bounds()
	if b.Empty() {
		return "#808080"
	}
	nx, ny := min(b.Dx(), placeholderSamples), min(b.Dy(), placeholderSamples)
	var r, g, bl, a uint64
	for j := range ny {
		y := b.Min.Y + (2*j+1)*b.Dy()/(2*ny)
		for i := range nx {
			x := b.Min.X + (2*i+1)*b.Dx()/(2*nx)
			// Premultiplied, 16 bits per channel.
			pr, pg, pb, pa := img.At(x, y).RGBA()
			r, g, bl, a = r+uint64(pr), g+uint64(pg), bl+uint64(pb), a+uint64(pa)
		}
	}
	if a == 0 {
		return "#808080"
	}
	c := color.RGBA{uint8(r * 0xff / a), uint8(g * 0xff / a), uint8(bl * 0xff / a), 0xff}
	return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B)
}

// Describe reads a picture as stored (one the pipeline wrote, or one from
// before it) and returns its Info: for pictures that need no processing,
// which `insta485 uploads reprocess` leaves as they are. ErrNotImage for
// anything that does not decode.
func Describe(data []byte) (Info, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return Info{}, ErrNotImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return Info{}, fmt.Errorf("%w: it is %d×%d pixels", ErrTooManyPixels, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return Info{}, ErrNotImage
	}
	return Info{cfg.Width, cfg.Height, averageColor(img)}, nil
}
