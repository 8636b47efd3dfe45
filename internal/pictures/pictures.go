// Package pictures owns the steps that keep uploaded pictures and the rows
// naming them together, for every caller (the pages today, the API
// tomorrow): store the picture, write the row, remove the picture if the
// row fails (Save); delete rows, then the pictures they were the last to
// name (Delete). A crash between the two steps can still leave a file no
// row names; `insta485 uploads check` finds those.
package pictures

import (
	"context"
	"io"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/media"
)

// Pictures is an upload store with what to do when a leftover file cannot
// be removed.
type Pictures struct {
	Store blob.Store
	// RemoveFailed is told of a file that could not be removed after the
	// rows changed (nil: ignored). It is not an error of the change, which
	// has happened: a stray file costs only space.
	RemoveFailed func(name string, err error)
}

// Upload is a picture as a client sent it.
type Upload struct {
	Body io.Reader
	// Name is the client's file name; only its extension counts.
	Name string
	// Limit is the largest accepted size in bytes.
	Limit int64
}

// Save stores up (through media.Save: decoded, checked, processed, with
// its variants), then calls write with the picture's new name. When write
// fails the picture is removed again and write's error returned; when it
// succeeds the files write reports as no longer named (orphans: a replaced
// profile picture) are removed. With up nil there is no new picture and
// write gets "". Errors of the upload itself are media's (ErrNotImage,
// ErrTooLarge, …) or blob.ErrUnavailable.
func (p Pictures) Save(ctx context.Context, up *Upload, write func(name string) (orphans []string, err error)) error {
	name := ""
	if up != nil {
		var err error
		name, err = media.Save(ctx, p.Store, up.Body, up.Name, up.Limit)
		if err != nil {
			return err
		}
	}
	orphans, err := write(name)
	if err != nil {
		if name != "" {
			p.Remove(ctx, name)
		}
		return err
	}
	p.Remove(ctx, orphans...)
	return nil
}

// Delete runs del, which deletes rows and returns the files they were the
// last to name, and then removes those files.
func (p Pictures) Delete(ctx context.Context, del func() (orphans []string, err error)) error {
	orphans, err := del()
	p.Remove(ctx, orphans...)
	return err
}

// Remove deletes pictures nothing names any more, with their width
// variants, even when ctx is cancelled: the rows have changed already.
func (p Pictures) Remove(ctx context.Context, names ...string) {
	ctx = context.WithoutCancel(ctx)
	for _, n := range names {
		if err := media.Remove(ctx, p.Store, n); err != nil && p.RemoveFailed != nil {
			p.RemoveFailed(n, err)
		}
	}
}
