package media

import (
	"context"
	"errors"
	"image"
	"image/color"
	"runtime/debug"
	"time"

	"golang.org/x/sync/semaphore"
)

// ErrBusy is returned by Process when the decode budget stayed taken for
// longer than DecodeWait: too many large pictures are being decoded at
// once, and the client should try again in a moment (503 with
// Retry-After).
var ErrBusy = errors.New("too many pictures are being decoded at once")

// DecodeBudget bounds the memory all decodes in the process may take at
// once, in bytes of decoded pixels (see decodeCost). The largest picture
// allowed (50 megapixels of 8-bit RGBA, 200 MB decoded) fits alone; two
// of them wait for each other, so a burst of huge uploads costs the
// memory of one, not of all. Small pictures (a 12-megapixel photo costs
// about 40 MB) still decode several at a time.
const DecodeBudget = 256 << 20

// DecodeWait is how long Process waits for room in the budget before
// giving up with ErrBusy.
const DecodeWait = 5 * time.Second

// bigDecode is the cost from which a decode gives its memory back to the
// operating system when it ends, rather than leaving it to the garbage
// collector's pacing: that would let the heap grow to twice the largest
// decode before collecting, and keep the pages long after.
const bigDecode = 32 << 20

var decodeBudget = semaphore.NewWeighted(DecodeBudget)

// acquireDecode reserves cost bytes of the decode budget, waiting at most
// DecodeWait; release gives them back, and the memory of a big decode to
// the operating system.
func acquireDecode(ctx context.Context, cost int64) (release func(), err error) {
	cost = min(cost, DecodeBudget) // the largest decodes run alone
	wctx, cancel := context.WithTimeout(ctx, DecodeWait)
	defer cancel()
	if err := decodeBudget.Acquire(wctx, cost); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrBusy
	}
	return func() {
		if cost >= bigDecode {
			debug.FreeOSMemory()
		}
		decodeBudget.Release(cost)
	}, nil
}

// decodeCost estimates the bytes decoding a picture takes: its pixels in
// the decoder's representation (one frame of each, for a GIF, plus the
// canvas they are drawn on), and the intermediate picture scaleRGBA makes
// when reducing it.
func decodeCost(cfg image.Config, format string, frames int) int64 {
	pixels := int64(cfg.Width) * int64(cfg.Height)
	mid := min(pixels, 4*MaxSide*MaxSide) * 4
	if format == "gif" {
		return int64(max(frames, 1))*pixels + 8*pixels + mid
	}
	return pixels*bytesPerPixel(cfg.ColorModel) + mid
}

// bytesPerPixel is what one pixel takes in the image type the decoders
// return for model; 4 (RGBA) when unknown, 3 for YCbCr (4:4:4 at worst).
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}
