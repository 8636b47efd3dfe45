// Package pictures owns the steps that keep uploaded pictures and the rows
// naming them together, for every caller (the pages today, the API
// tomorrow): store the picture, write the row, remove the picture if the
// row fails (Save); delete rows, then the pictures they were the last to
// name (Delete). A crash between the two steps can still leave a file no
// row names; `insta485 uploads check` finds those.
package pictures

import (
	"context"
	"fmt"
	"io"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
)

// Pictures is an upload store with what to do when a leftover file cannot
// be removed.
type Pictures struct {
	Store blob.Store
	// RemoveFailed is told of a file that could not be removed after the
	// rows changed (nil: ignored). It is not an error of the change, which
	// has happened: a stray file costs only space.
	RemoveFailed func(name string, err error)
	// Forget, when set, is told of each picture before it is removed, so
	// that nothing hands out URLs of it (media.Delivery.Forget).
	Forget func(name string)
	// Keep, when set, says whether files must stay although nothing names
	// them: while a backup holds its lease (storage.Store.BackupRunning)
	// they may be in its snapshot, and the backup removes them itself once
	// it has copied them. An error keeps them too (`insta485 uploads check
	// --fix` removes strays).
	Keep func(ctx context.Context) (bool, error)
	// Info, when set, keeps each new picture's size and placeholder colour
	// for the pages (before write runs, so that no row names a picture
	// without them) and forgets those of the pictures Remove removes.
	Info InfoStore
}

// InfoStore keeps pictures' sizes and colours: storage.Store.
type InfoStore interface {
	PutPicture(ctx context.Context, p storage.Picture) error
	DeletePictures(ctx context.Context, names ...string) error
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
		var info media.Info
		name, info, err = media.Save(ctx, p.Store, up.Body, up.Name, up.Limit)
		if err != nil {
			return err
		}
		if p.Info != nil {
			if err := p.Info.PutPicture(ctx, storage.Picture{Filename: name, Width: info.Width, Height: info.Height, Color: info.Color}); err != nil {
				p.Remove(ctx, name)
				return err
			}
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
	if len(names) == 0 {
		return
	}
	if p.Info != nil {
		if err := p.Info.DeletePictures(ctx, names...); err != nil && p.RemoveFailed != nil {
			p.RemoveFailed(names[0], err)
		}
	}
	// Nothing hands out a picture that is gone, even one a backup keeps.
	if p.Forget != nil {
		for _, n := range names {
			p.Forget(n)
		}
	}
	if p.Keep != nil {
		if keep, err := p.Keep(ctx); keep || err != nil {
			if err != nil && p.RemoveFailed != nil {
				p.RemoveFailed(names[0], fmt.Errorf("check for a running backup, so keeping %d unused file(s): %w", len(names), err))
			}
			return
		}
	}
	for _, n := range names {
		if err := media.Remove(ctx, p.Store, n); err != nil && p.RemoveFailed != nil {
			p.RemoveFailed(n, err)
		}
	}
}
