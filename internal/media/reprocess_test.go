package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
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

// TestNeedsProcessing: what the pipeline writes needs nothing; what a
// camera or another program wrote does.
func TestNeedsProcessing(t *testing.T) {
	ctx := context.Background()
	var small, big, anim bytes.Buffer
	png.Encode(&small, image.NewRGBA(image.Rect(0, 0, 40, 30)))
	png.Encode(&big, image.NewRGBA(image.Rect(0, 0, 1200, 30)))
	pal := color.Palette{color.Black, color.White}
	gif.EncodeAll(&anim, &gif.GIF{Image: []*image.Paletted{image.NewPaletted(image.Rect(0, 0, 4, 4), pal), image.NewPaletted(image.Rect(0, 0, 4, 4), pal)}, Delay: []int{1, 1}})
	// A comment extension right after the header (no global palette).
	commented := append([]byte{}, anim.Bytes()[:13]...)
	commented = append(commented, 0x21, 0xFE, 5, 'h', 'e', 'l', 'l', 'o', 0)
	commented = append(commented, anim.Bytes()[13:]...)
	// A PNG with a tEXt chunk after IHDR (8 + 25 bytes).
	text := []byte{0, 0, 0, 4, 't', 'E', 'X', 't', 'a', 0, 'b', 'c'}
	text = binary.BigEndian.AppendUint32(text, crc32.ChecksumIEEE(text[4:]))
	withText := append(append(append([]byte{}, small.Bytes()[:33]...), text...), small.Bytes()[33:]...)
	webp, _ := os.ReadFile(filepath.Join("testdata", "blue-purple-pink.lossy.webp"))
	camera := testenv.WithEXIF(testenv.MarkedPhoto(t, 64, 32), 6)

	for name, c := range map[string]struct {
		data []byte
		want bool
	}{
		"plain png": {small.Bytes(), false}, "png over 1080": {big.Bytes(), true}, "png with text": {withText, true},
		"animated gif": {anim.Bytes(), false}, "gif with a comment": {commented, true},
		"webp": {webp, true}, "camera jpeg": {camera, true}, "not a picture": {[]byte("hello"), false},
	} {
		if got := media.NeedsProcessing(c.data); got != c.want {
			t.Errorf("%s: NeedsProcessing = %v, want %v", name, got, c.want)
		}
		if !c.want {
			continue
		}
		pic, err := media.Process(ctx, c.data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if media.NeedsProcessing(pic.Data) {
			t.Errorf("%s: the pipeline's own output needs processing again", name)
		}
	}
}

// TestReprocessStripsAnOldUpload: a camera JPEG stored byte for byte (as
// insta485 did before the pipeline) is replaced by its upright, stripped
// version with variants; a second run changes nothing.
func TestReprocessStripsAnOldUpload(t *testing.T) {
	ctx := context.Background()
	store, _ := blob.NewLocal(t.TempDir())
	name := blob.NewName(".jpg")
	if err := store.Put(ctx, name, bytes.NewReader(testenv.WithEXIF(testenv.MarkedPhoto(t, 64, 32), 6))); err != nil {
		t.Fatal(err)
	}
	changed, err := media.Reprocess(ctx, store, name)
	if err != nil || !changed {
		t.Fatalf("Reprocess = %v, %v; want true", changed, err)
	}
	data, _ := os.ReadFile(filepath.Join(store.Dir, name))
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 32 || cfg.Height != 64 || bytes.Contains(data, []byte("Exif")) {
		t.Errorf("after Reprocess: %dx%d (%v), EXIF left: %v", cfg.Width, cfg.Height, err, bytes.Contains(data, []byte("Exif")))
	}
	for _, w := range media.VariantWidths {
		if _, err := os.Stat(filepath.Join(store.Dir, blob.VariantName(name, w))); err != nil {
			t.Errorf("variant %d: %v", w, err)
		}
	}
	if changed, err := media.Reprocess(ctx, store, name); changed || err != nil {
		t.Errorf("second Reprocess = %v, %v; want nothing to do", changed, err)
	}
}
