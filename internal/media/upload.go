package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/insta485/insta485/internal/blob"
)

// Upload errors; the HTTP layers answer 400 and 413.
var (
	ErrNotImage = errors.New("the file is not a PNG, JPEG, GIF or WebP image")
	ErrTooLarge = errors.New("the file is larger than the upload limit")
	ErrEmpty    = errors.New("no file was uploaded")
)

// Save reads an upload of at most limit bytes, runs it through Process
// (which refuses anything that is not a whole PNG, JPEG, GIF or WebP image,
// or is over the pixel limits), stores the result and its width variants
// under a new name and returns the name. A JPEG keeps a ".jpeg" extension
// when the original name had one; otherwise the extension is the stored
// format's. On any error nothing is left in the store.
func Save(ctx context.Context, store blob.Store, r io.Reader, originalName string, limit int64) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return "", fmt.Errorf("read upload: %w", err)
	}
	if len(data) == 0 {
		return "", ErrEmpty
	}
	if int64(len(data)) > limit {
		return "", ErrTooLarge
	}
	pic, err := Process(ctx, data)
	if err != nil {
		return "", err
	}
	ext := pic.Ext
	if ext == ".jpg" && strings.ToLower(filepath.Ext(originalName)) == ".jpeg" {
		ext = ".jpeg"
	}
	name := blob.NewName(ext)
	if err := pic.Put(ctx, store, name); err != nil {
		return "", fmt.Errorf("save upload: %w", err)
	}
	return name, nil
}

// Put stores p under name and its variants beside it. The variants go
// first, so that a reader who sees the main file finds them too; on an
// error whatever was stored is removed again.
func (p *Picture) Put(ctx context.Context, store blob.Store, name string) error {
	for _, v := range p.Variants {
		if err := store.Put(ctx, blob.VariantName(name, v.Width), bytes.NewReader(v.Data)); err != nil {
			Remove(context.WithoutCancel(ctx), store, name)
			return err
		}
	}
	if err := store.Put(ctx, name, bytes.NewReader(p.Data)); err != nil {
		Remove(context.WithoutCancel(ctx), store, name)
		return err
	}
	return nil
}

// PutPicture runs data (a picture insta485 made itself, such as the sample
// data's) through Process and stores it under name with its variants.
func PutPicture(ctx context.Context, store blob.Store, name string, data []byte) error {
	pic, err := Process(ctx, data)
	if err != nil {
		return fmt.Errorf("process %s: %w", name, err)
	}
	return pic.Put(ctx, store, name)
}

// Remove deletes the upload name and its width variants.
func Remove(ctx context.Context, store blob.Store, name string) error {
	var errs []error
	for _, w := range VariantWidths {
		errs = append(errs, store.Delete(ctx, blob.VariantName(name, w)))
	}
	errs = append(errs, store.Delete(ctx, name))
	return errors.Join(errs...)
}

// maxLazyBytes bounds how much of an upload OpenUpload reads to make its
// variants: more than any upload limit in use.
const maxLazyBytes = 64 << 20

// OpenUpload opens the upload or variant called name. Uploads stored before
// insta485 made variants have none: the first request for one makes them
// all from the upload and stores them. When the upload cannot be processed
// (it is over today's limits, or not a whole picture), the upload itself is
// returned in the variant's place, so a page never shows a broken image.
func OpenUpload(ctx context.Context, store blob.Store, name string) (blob.File, error) {
	f, err := store.Open(ctx, name)
	main, w := blob.MainName(name)
	if w == 0 || !errors.Is(err, blob.ErrNotFound) {
		return f, err
	}
	mf, err := store.Open(ctx, main)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(mf, maxLazyBytes))
	if err != nil {
		mf.Close()
		return nil, fmt.Errorf("read %s to make its variants: %w", main, err)
	}
	pic, err := Process(ctx, data)
	if err != nil {
		if ctx.Err() != nil {
			mf.Close()
			return nil, ctx.Err()
		}
		if _, err := mf.Seek(0, io.SeekStart); err != nil {
			mf.Close()
			return nil, err
		}
		return mf, nil
	}
	mf.Close()
	for _, v := range pic.Variants {
		if err := store.Put(ctx, blob.VariantName(main, v.Width), bytes.NewReader(v.Data)); err != nil {
			return nil, fmt.Errorf("store a variant of %s: %w", main, err)
		}
	}
	return store.Open(ctx, name)
}
