package media

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
)

// processGIF re-encodes a GIF frame by frame, keeping its timing and loop
// count, so an animation stays animated; comments and application blocks
// other than the loop count are dropped. At most MaxSide pixels on its
// long side it keeps its frames as they are; the variants (and a larger
// GIF's main picture) are made by composing each frame onto the canvas as
// a viewer does, scaling the canvas, and mapping it back to the frame's
// palette. Every scaled frame is a full frame.
func processGIF(data []byte) (*Picture, error) {
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil || len(g.Image) == 0 {
		return nil, ErrNotImage
	}
	for _, fr := range g.Image {
		if len(fr.Palette) == 0 {
			return nil, ErrNotImage
		}
	}
	w, h := g.Config.Width, g.Config.Height
	tw, th := fit(w, h, MaxSide, MaxSide)
	// sizes[0] is the main picture; then the variants narrower than it.
	sizes := []image.Point{{tw, th}}
	for _, vw := range VariantWidths {
		if vw < tw {
			sizes = append(sizes, image.Pt(vw, scaledHeight(tw, th, vw)))
		}
	}
	outs := make([]*gif.GIF, len(sizes))
	for k, sz := range sizes {
		outs[k] = &gif.GIF{Delay: g.Delay, LoopCount: g.LoopCount, Config: image.Config{Width: sz.X, Height: sz.Y}}
	}
	keepMain := tw == w && th == h
	if keepMain {
		outs[0] = &gif.GIF{Image: g.Image, Delay: g.Delay, Disposal: g.Disposal, LoopCount: g.LoopCount,
			Config: g.Config, BackgroundIndex: g.BackgroundIndex}
	}
	if !keepMain || len(sizes) > 1 {
		canvas := image.NewRGBA(image.Rect(0, 0, w, h))
		maps := map[*color.Color]*paletteMap{}
		for i, fr := range g.Image {
			var disposal byte
			if i < len(g.Disposal) {
				disposal = g.Disposal[i]
			}
			var saved []byte
			if disposal == gif.DisposalPrevious {
				saved = append([]byte(nil), canvas.Pix...)
			}
			composePaletted(canvas, fr)
			pm := maps[&fr.Palette[0]]
			if pm == nil {
				pm = newPaletteMap(fr.Palette)
				maps[&fr.Palette[0]] = pm
			}
			// Each size is scaled from the one before: the canvas, then the
			// main picture, then the wider variant.
			var prev image.Image = canvas
			for k, sz := range sizes {
				if k == 0 && keepMain {
					continue
				}
				scaled := scaleRGBA(prev, sz.X, sz.Y)
				prev = scaled
				outs[k].Image = append(outs[k].Image, pm.quantize(scaled))
				outs[k].Disposal = append(outs[k].Disposal, gif.DisposalNone)
			}
			switch disposal {
			case gif.DisposalBackground:
				draw.Draw(canvas, fr.Bounds(), image.Transparent, image.Point{}, draw.Src)
			case gif.DisposalPrevious:
				copy(canvas.Pix, saved)
			}
		}
	}
	p := &Picture{Ext: ".gif", Width: tw, Height: th, Color: averageColor(g.Image[0])}
	if p.Data, err = encodeGIF(outs[0]); err != nil {
		return nil, err
	}
	for i, vw := range VariantWidths {
		v := Variant{Width: vw, Data: p.Data}
		if vw < tw {
			if v.Data, err = encodeGIF(outs[1+i]); err != nil {
				return nil, err
			}
		}
		p.Variants = append(p.Variants, v)
	}
	return p, nil
}

func encodeGIF(g *gif.GIF) ([]byte, error) {
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		return nil, fmt.Errorf("encode GIF: %w", err)
	}
	return buf.Bytes(), nil
}

// composePaletted draws the GIF frame fr over canvas: its opaque pixels
// replace the canvas's, its transparent ones leave them (GIF has no partial
// transparency). A direct loop: the generic draw.Over reads every pixel
// through interfaces.
func composePaletted(canvas *image.RGBA, fr *image.Paletted) {
	var rgba [256][4]uint8
	for i, c := range fr.Palette {
		r, g, b, a := c.RGBA()
		rgba[i] = [4]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
	}
	r := fr.Bounds().Intersect(canvas.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		src := fr.Pix[fr.PixOffset(r.Min.X, y):]
		dst := canvas.Pix[canvas.PixOffset(r.Min.X, y):]
		for x := range r.Dx() {
			c := rgba[src[x]]
			if c[3] >= 128 {
				dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = c[0], c[1], c[2], 0xff
			}
		}
	}
}

// paletteMap maps colours to their nearest palette entry, remembering each
// answer by the colour's top 5 bits per channel, so a frame costs one
// lookup per pixel once its colours were seen.
type paletteMap struct {
	pal         color.Palette
	transparent int // index of a transparent entry, or -1
	cache       []int16
}

func newPaletteMap(pal color.Palette) *paletteMap {
	m := &paletteMap{pal: pal, transparent: -1, cache: make([]int16, 1<<15)}
	for i := range m.cache {
		m.cache[i] = -1
	}
	for i, c := range pal {
		if _, _, _, a := c.RGBA(); a == 0 {
			m.transparent = i
			break
		}
	}
	return m
}

// quantize returns img in the palette, without dithering: it is scaled,
// so its colours are already smooth.
func (m *paletteMap) quantize(img *image.RGBA) *image.Paletted {
	out := image.NewPaletted(img.Bounds(), m.pal)
	for i := 0; i+3 < len(img.Pix); i += 4 {
		r, g, b, a := img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]
		if a < 128 && m.transparent >= 0 {
			out.Pix[i/4] = uint8(m.transparent)
			continue
		}
		if a > 0 && a < 255 { // undo the premultiplication
			r, g, b = uint8(int(r)*255/int(a)), uint8(int(g)*255/int(a)), uint8(int(b)*255/int(a))
		}
		key := int(r>>3)<<10 | int(g>>3)<<5 | int(b>>3)
		idx := m.cache[key]
		if idx < 0 {
			idx = int16(m.nearest(r, g, b))
			m.cache[key] = idx
		}
		out.Pix[i/4] = uint8(idx)
	}
	return out
}

func (m *paletteMap) nearest(r, g, b uint8) int {
	best, bestD := 0, -1
	for i, c := range m.pal {
		cr, cg, cb, ca := c.RGBA()
		if ca == 0 {
			continue
		}
		dr, dg, db := int(cr>>8)-int(r), int(cg>>8)-int(g), int(cb>>8)-int(b)
		if d := dr*dr + dg*dg + db*db; bestD < 0 || d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

// gifFrames counts a GIF's frames by walking its blocks without decoding
// any, so that an animation of many tiny-to-store frames is refused before
// they are all decoded. A malformed file returns what it counted so far;
// the decoder then refuses it.
func gifFrames(d []byte) int {
	frames := 0
	gifWalk(d, func(kind, _ byte, _ []byte) bool {
		if kind == 0x2C {
			frames++
		}
		return true
	})
	return frames
}

// gifHasMetadata reports whether a GIF has a comment, or an application
// block other than the loop count (XMP, for one).
func gifHasMetadata(d []byte) bool {
	found := false
	gifWalk(d, func(kind, label byte, first []byte) bool {
		if kind == 0x21 && (label == 0xFE || label == 0xFF && string(first) != "NETSCAPE2.0") {
			found = true
		}
		return !found
	})
	return found
}

// gifWalk calls fn for each block after a GIF's header: kind 0x2C for a
// frame, 0x21 for an extension with its label and first data sub-block.
// It stops when fn returns false, at the trailer, or at anything malformed.
func gifWalk(d []byte, fn func(kind, label byte, first []byte) bool) {
	if len(d) < 13 {
		return
	}
	i := 13
	if d[10]&0x80 != 0 {
		i += 3 << (d[10]&7 + 1)
	}
	// subBlocks skips data sub-blocks up to the empty one, returning the
	// first.
	subBlocks := func() []byte {
		var first []byte
		for i < len(d) {
			n := int(d[i])
			i++
			if n == 0 {
				break
			}
			if first == nil && i+n <= len(d) {
				first = d[i : i+n]
			}
			i += n
		}
		return first
	}
	for i+1 < len(d) {
		switch kind := d[i]; kind {
		case 0x21: // extension: label, sub-blocks
			label := d[i+1]
			i += 2
			if !fn(kind, label, subBlocks()) {
				return
			}
		case 0x2C: // image descriptor, local palette, LZW code size, data
			if i+10 > len(d) {
				return
			}
			flags := d[i+9]
			i += 10
			if flags&0x80 != 0 {
				i += 3 << (flags&7 + 1)
			}
			i++
			subBlocks()
			if !fn(kind, 0, nil) {
				return
			}
		default: // trailer or garbage
			return
		}
	}
}
