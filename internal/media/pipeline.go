package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"runtime"

	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the WebP decoder with image.Decode
)

// Limits of the image pipeline. Uploads are checked against MaxPixels from
// their header, before any pixel is decoded, so a small file that declares
// a huge picture (a decompression bomb) costs nothing.
const (
	// MaxSide is the longest side of a stored picture; larger ones are
	// scaled down, keeping their aspect.
	MaxSide = 1080
	// MaxPixels is the most pixels (width × height) an upload may declare:
	// 50 megapixels, more than any phone camera's default.
	MaxPixels = 50_000_000
	// MaxFrames is the most frames an animated GIF may have.
	MaxFrames = 300
	// MaxGIFPixels bounds an animated GIF's frames × width × height: the
	// memory its decoded frames take and the work of scaling them.
	MaxGIFPixels = 30_000_000
)

// VariantWidths are the smaller copies stored beside every picture, named
// by blob.VariantName, for grids, avatars and phones (HTML srcset). A picture
// narrower than a width gets a copy of itself there, so every variant
// always exists.
var VariantWidths = []int{320, 640}

// ErrTooManyPixels refuses an upload whose header declares more than
// MaxPixels (or a GIF beyond MaxFrames or MaxGIFPixels).
var ErrTooManyPixels = errors.New("the picture has too many pixels")

// jpegQuality is the quality of stored JPEGs: visually lossless for photos
// at a third of the size of quality 100.
const jpegQuality = 85

// decodeSlots bounds how many pictures are decoded at once, for the CPU;
// their memory is bounded by the decode budget (decodebudget.go).
var decodeSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// Picture is an upload after the pipeline: decoded, turned upright,
// scaled to at most MaxSide and re-encoded without any metadata.
type Picture struct {
	// Ext is the stored format's extension: ".jpg", ".png" or ".gif".
	Ext           string
	Data          []byte
	Width, Height int
	// Variants holds one encoding per VariantWidths entry, in that order.
	Variants []Variant
}

// Variant is a smaller copy of a Picture.
type Variant struct {
	Width int
	Data  []byte
}

// Process decodes data fully and returns what insta485 stores for it.
// Formats: PNG and JPEG stay what they are; WebP becomes PNG when it has
// transparency, JPEG otherwise (Go has no WebP encoder); GIF stays GIF, and
// an animated one stays animated. Re-encoding drops every metadata block
// (EXIF with GPS positions, XMP, ICC profiles, comments). JPEGs are turned
// as their EXIF Orientation says first.
//
// It returns ErrNotImage for anything that does not decode completely,
// ErrTooManyPixels (wrapped, with the size) for a picture over the limits
// and ErrBusy when the decode budget had no room for it in time.
func Process(ctx context.Context, data []byte) (*Picture, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, ErrNotImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("%w: it is %d×%d pixels; the limit is %d megapixels",
			ErrTooManyPixels, cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	frames := 1
	if format == "gif" {
		frames = gifFrames(data)
		if frames > MaxFrames || int64(frames)*int64(cfg.Width)*int64(cfg.Height) > MaxGIFPixels {
			return nil, fmt.Errorf("%w: the animation has %d frames of %d×%d pixels; the limit is %d frames and %d megapixels in all",
				ErrTooManyPixels, frames, cfg.Width, cfg.Height, MaxFrames, MaxGIFPixels/1_000_000)
		}
	}
	release, err := acquireDecode(ctx, decodeCost(cfg, format, frames))
	if err != nil {
		return nil, err
	}
	defer release()
	select {
	case decodeSlots <- struct{}{}:
		defer func() { <-decodeSlots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if format == "gif" {
		return processGIF(data)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, ErrNotImage
	}
	o := 1
	if format == "jpeg" {
		o = jpegOrientation(data)
	}
	b := img.Bounds()
	// Scale first, then turn the small result: turning is a pixel loop.
	ow, oh := orientedSize(b.Dx(), b.Dy(), o)
	tw, th := fit(ow, oh, MaxSide, MaxSide)
	sw, sh := orientedSize(tw, th, o)
	canvas := orient(scaleRGBA(img, sw, sh), o)

	p := &Picture{Ext: ".jpg", Width: tw, Height: th}
	if format == "png" || (format == "webp" && !canvas.Opaque()) {
		p.Ext = ".png"
	}
	if p.Data, err = encodeStill(canvas, p.Ext); err != nil {
		return nil, err
	}
	for _, w := range VariantWidths {
		v := Variant{Width: w, Data: p.Data}
		if w < tw {
			if v.Data, err = encodeStill(scaleRGBA(canvas, w, scaledHeight(tw, th, w)), p.Ext); err != nil {
				return nil, err
			}
		}
		p.Variants = append(p.Variants, v)
	}
	return p, nil
}

// fit returns w×h scaled down, keeping its aspect, to fit in maxW×maxH;
// never scaled up, never below 1×1.
func fit(w, h, maxW, maxH int) (int, int) {
	if w <= maxW && h <= maxH {
		return w, h
	}
	if int64(w)*int64(maxH) >= int64(h)*int64(maxW) { // width is the limit
		return maxW, max(1, int((int64(h)*int64(maxW)+int64(w)/2)/int64(w)))
	}
	return max(1, int((int64(w)*int64(maxH)+int64(h)/2)/int64(h))), maxH
}

// scaledHeight is the height of a w×h picture scaled to width nw.
func scaledHeight(w, h, nw int) int {
	_, nh := fit(w, h, nw, h)
	return nh
}

// scaleRGBA draws src into a new w×h RGBA picture: a plain copy at the
// same size, Catmull-Rom resampling (sharp, without aliasing) otherwise.
// Catmull-Rom's cost grows with the reduction (a 12-megapixel photo took
// two seconds), so a picture more than twice the target size is reduced
// to twice the size by the fast bilinear approximation, which barely
// aliases at that ratio, and Catmull-Rom does the last halving.
func scaleRGBA(src image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	b := src.Bounds()
	switch {
	case b.Dx() == w && b.Dy() == h:
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
	case b.Dx() > 2*w && b.Dy() > 2*h:
		mid := image.NewRGBA(image.Rect(0, 0, 2*w, 2*h))
		xdraw.ApproxBiLinear.Scale(mid, mid.Bounds(), src, b, draw.Src, nil)
		xdraw.CatmullRom.Scale(dst, dst.Bounds(), mid, mid.Bounds(), draw.Src, nil)
	default:
		xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	}
	return dst
}

func encodeStill(img image.Image, ext string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if ext == ".png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality})
	}
	if err != nil {
		return nil, fmt.Errorf("encode picture: %w", err)
	}
	return buf.Bytes(), nil
}
