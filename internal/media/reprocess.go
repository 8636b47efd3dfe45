package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"io"

	"github.com/insta485/insta485/internal/blob"
)

// Reprocess runs an upload stored before the image pipeline existed through
// it, replacing the file under the same name and writing its variants, so
// that its metadata (GPS position and all) is no longer published. Files
// that need nothing (NeedsProcessing) are left alone and it returns false.
// A file the pipeline refuses is left as it is and the error says why.
// The variants are written before the picture, and nothing is removed on
// failure: the upload is never lost.
func Reprocess(ctx context.Context, store blob.Store, name string) (bool, error) {
	f, err := store.Open(ctx, name)
	if err != nil {
		return false, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxLazyBytes))
	f.Close()
	if err != nil {
		return false, fmt.Errorf("read %s: %w", name, err)
	}
	if !NeedsProcessing(data) {
		return false, nil
	}
	pic, err := Process(ctx, data)
	if err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	for _, v := range pic.Variants {
		if err := store.Put(ctx, blob.VariantName(name, v.Width), bytes.NewReader(v.Data)); err != nil {
			return false, fmt.Errorf("store a variant of %s: %w", name, err)
		}
	}
	if err := store.Put(ctx, name, bytes.NewReader(pic.Data)); err != nil {
		return false, fmt.Errorf("store %s: %w", name, err)
	}
	return true, nil
}

// NeedsProcessing reports whether a stored picture is not what the
// pipeline stores: larger than MaxSide, a WebP, or carrying blocks Go's
// encoders never write (any JPEG APPn or comment segment; any PNG chunk
// but IHDR, PLTE, tRNS, IDAT and IEND; a GIF comment or an application
// block other than the loop count). What does not decode is not a
// picture to process and reports false.
func NeedsProcessing(data []byte) bool {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return false
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide {
		return true
	}
	switch format {
	case "jpeg":
		return jpegHasMetadata(data)
	case "png":
		return pngHasMetadata(data)
	case "gif":
		return gifHasMetadata(data)
	}
	return true // WebP: stored as JPEG or PNG
}

func jpegHasMetadata(d []byte) bool {
	for i := 2; i+4 <= len(d); {
		if d[i] != 0xFF {
			return false
		}
		m := d[i+1]
		switch {
		case m == 0xFF:
			i++
			continue
		case m == 0xDA || m == 0xD9:
			return false
		case m >= 0xE0 && m <= 0xEF || m == 0xFE:
			return true
		}
		i += 2 + int(binary.BigEndian.Uint16(d[i+2:]))
	}
	return false
}

func pngHasMetadata(d []byte) bool {
	for i := 8; i+8 <= len(d); {
		n := int64(binary.BigEndian.Uint32(d[i:]))
		switch string(d[i+4 : i+8]) {
		case "IHDR", "PLTE", "tRNS", "IDAT":
		case "IEND":
			return false
		default:
			return true
		}
		next := int64(i) + 12 + n
		if next > int64(len(d)) {
			return false
		}
		i = int(next)
	}
	return false
}
