package testenv

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// The colours of MarkedPhoto's corner blocks.
var (
	MarkTopLeft  = color.RGBA{255, 0, 0, 255}
	MarkTopRight = color.RGBA{0, 0, 255, 255}
)

// MarkedPhoto returns a w×h grey JPEG with a MarkTopLeft block in its
// top-left corner and a MarkTopRight one in its top-right corner, as a
// camera sensor saw it: tests find where the corners end up.
func MarkedPhoto(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{128, 128, 128, 255}
			if y < h/4 && x < w/4 {
				c = MarkTopLeft
			} else if y < h/4 && x >= w-w/4 {
				c = MarkTopRight
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// exifSegment is a JPEG APP1 segment holding EXIF as a phone writes it: an
// Orientation tag and a GPS position (42° 21′ N, 71° 3′ W).
func exifSegment(orientation uint16) []byte {
	var t bytes.Buffer
	be := binary.BigEndian
	w16 := func(v uint16) { binary.Write(&t, be, v) }
	w32 := func(v uint32) { binary.Write(&t, be, v) }
	t.WriteString("MM")
	w16(42)
	w32(8) // IFD0 at 8
	// IFD0: Orientation, GPS IFD pointer.
	w16(2)
	w16(0x0112)
	w16(3)
	w32(1)
	w16(orientation)
	w16(0)
	w16(0x8825)
	w16(4)
	w32(1)
	w32(38) // GPS IFD: 8 + 2 + 24 + 4
	w32(0)
	// GPS IFD at 38: latitude ref, latitude, longitude ref, longitude.
	w16(4)
	for _, e := range []struct {
		tag, typ uint16
		n, v     uint32
	}{
		{1, 2, 2, 'N' << 24}, {2, 5, 3, 92}, {3, 2, 2, 'W' << 24}, {4, 5, 3, 116},
	} {
		w16(e.tag)
		w16(e.typ)
		w32(e.n)
		w32(e.v)
	}
	w32(0)
	// 38 + 2 + 48 + 4 = 92: latitude then longitude, three rationals each.
	for _, v := range []uint32{42, 1, 21, 1, 0, 1, 71, 1, 3, 1, 0, 1} {
		w32(v)
	}
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	be.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// WithEXIF inserts after the JPEG's SOI marker an EXIF segment as a phone
// writes it (exifSegment) and a comment, the metadata uploads must lose.
func WithEXIF(jpg []byte, orientation uint16) []byte {
	comment := []byte("\xFF\xFE\x00\x16shot at home, Ann Ar")
	out := append([]byte{}, jpg[:2]...)
	out = append(out, exifSegment(orientation)...)
	out = append(out, comment...)
	return append(out, jpg[2:]...)
}

// PNGHeader returns a PNG that declares w×h pixels and holds none: the
// signature, an IHDR chunk and an empty IEND.
func PNGHeader(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		var c bytes.Buffer
		binary.Write(&c, binary.BigEndian, uint32(len(data)))
		c.WriteString(typ)
		c.Write(data)
		binary.Write(&c, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
		return c.Bytes()
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, chunk("IEND", nil)...)
}
