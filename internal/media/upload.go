package media

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
)

// Upload errors; the HTTP layers answer 400 and 413.
var (
	ErrNotImage = errors.New("the file is not a PNG, JPEG, GIF or WebP image")
	ErrTooLarge = errors.New("the file is larger than the upload limit")
	ErrEmpty    = errors.New("no file was uploaded")
)

// imageTypes maps the sniffed content type to the extensions it may carry
// and the one to use when the original name has none of them.
var imageTypes = map[string]struct {
	exts      []string
	canonical string
}{
	"image/png":  {[]string{".png"}, ".png"},
	"image/jpeg": {[]string{".jpg", ".jpeg"}, ".jpg"},
	"image/gif":  {[]string{".gif"}, ".gif"},
	"image/webp": {[]string{".webp"}, ".webp"},
}

// NewName returns a fresh upload name: 32 lowercase hex characters (a UUID4
// without dashes) and ext.
func NewName(ext string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("media: no randomness: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return hex.EncodeToString(b[:]) + ext
}

// Save checks that r holds an image of at most limit bytes, stores it under
// a new name and returns the name. The extension is the original name's in
// lower case when it matches the content, otherwise the content's own. On
// any error nothing is left in the store.
func Save(ctx context.Context, store Store, r io.Reader, originalName string, limit int64) (string, error) {
	br := bufio.NewReaderSize(r, 512)
	head, err := br.Peek(512)
	if len(head) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return "", ErrEmpty
	}
	kind, ok := imageTypes[http.DetectContentType(head)]
	if !ok {
		return "", ErrNotImage
	}
	ext := strings.ToLower(filepath.Ext(originalName))
	matches := false
	for _, e := range kind.exts {
		matches = matches || e == ext
	}
	if !matches {
		ext = kind.canonical
	}
	name := NewName(ext)
	lr := &limitedReader{r: br, left: limit}
	if err := store.Put(ctx, name, lr); err != nil {
		if lr.exceeded {
			return "", ErrTooLarge
		}
		return "", fmt.Errorf("save upload: %w", err)
	}
	return name, nil
}

// limitedReader fails the copy once more than left bytes were read, so the
// store discards the partial file.
type limitedReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.exceeded = true
		return 0, ErrTooLarge
	}
	return n, err
}
