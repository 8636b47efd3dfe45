// Package media owns uploaded images: where they are stored (a directory
// today, behind an interface an object store can implement), which uploads
// are accepted and what they are named, and the pictures insta485 generates
// for its sample and bulk data.
package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// ErrNotFound is returned for a file the store does not hold.
var ErrNotFound = errors.New("no such upload")

// Store holds image files by name. Names are flat: no directories.
type Store interface {
	// Put stores r under name, atomically: a reader never sees half a file.
	Put(ctx context.Context, name string, r io.Reader) error
	// Open returns the file's content; ErrNotFound when there is none.
	Open(ctx context.Context, name string) (File, error)
	// Delete removes name; deleting what is not there is not an error.
	Delete(ctx context.Context, name string) error
	// Clear removes every upload, for `db destroy`, and nothing else.
	Clear(ctx context.Context) error
	// List calls fn with the name of every upload the store holds (names
	// that ValidName accepts, nothing else), in no particular order.
	List(ctx context.Context, fn func(name string) error) error
}

// File is an open stored file.
type File interface {
	io.ReadSeekCloser
	ModTime() time.Time
}

// validName matches the names this package hands out and the sample data
// uses: hex digits and one image extension, optionally with a width
// variant's "-w320" or "-w640" (VariantWidths) before the extension.
// Anything else (paths, dots, slashes) is never looked up.
var validName = regexp.MustCompile(`^[0-9a-f]{32,40}(-w(320|640))?\.(png|jpg|jpeg|gif|webp)$`)

// ValidName reports whether name could be an upload's or a variant's name.
func ValidName(name string) bool { return validName.MatchString(name) }

// Local keeps files in one directory.
type Local struct{ Dir string }

// NewLocal returns a store in dir, creating it if needed.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create upload directory: %w", err)
	}
	return &Local{Dir: dir}, nil
}

func (l *Local) path(name string) (string, error) {
	if !ValidName(name) {
		return "", ErrNotFound
	}
	return filepath.Join(l.Dir, name), nil
}

// Put writes to a temporary file beside the target and renames it into place.
func (l *Local) Put(_ context.Context, name string, r io.Reader) error {
	dst, err := l.path(name)
	if err != nil {
		return fmt.Errorf("refusing to store %q: not an upload name", name)
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(l.Dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("store upload: %w", err)
	}
	return nil
}

type localFile struct{ *os.File }

func (f localFile) ModTime() time.Time {
	st, err := f.Stat()
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// Open opens name for reading. Only a regular file is ever opened: a
// symbolic link, directory, FIFO or device named like an upload is
// ErrNotFound, so a link planted in the directory (say to /etc/passwd)
// never serves its target. The file is checked before it is opened (a FIFO
// would block the open) and after (the same file, in case the name was
// swapped for a link in between).
func (l *Local) Open(_ context.Context, name string) (File, error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	before, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) || (err == nil && !before.Mode().IsRegular()) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err != nil || !after.Mode().IsRegular() || !os.SameFile(before, after) {
		f.Close()
		return nil, ErrNotFound
	}
	return localFile{f}, nil
}

// Delete removes name.
func (l *Local) Delete(_ context.Context, name string) error {
	p, err := l.path(name)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Clear removes the uploads (files named like uploads, and Put's temporary
// files), then the directory itself if that left it empty. Anything else
// stays: the directory may have been named by mistake, or shared, and
// `db destroy` must not take other files with it.
func (l *Local) Clear(context.Context) error {
	entries, err := os.ReadDir(l.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clear uploads: %w", err)
	}
	kept := false
	for _, e := range entries {
		if e.Type().IsRegular() && (ValidName(e.Name()) || strings.HasPrefix(e.Name(), ".upload-")) {
			if err := os.Remove(filepath.Join(l.Dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("clear uploads: %w", err)
			}
			continue
		}
		kept = true
	}
	if kept {
		return nil
	}
	if err := os.Remove(l.Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clear uploads: %w", err)
	}
	return nil
}

// List calls fn for every regular file in the directory named like an upload.
func (l *Local) List(ctx context.Context, fn func(name string) error) error {
	entries, err := os.ReadDir(l.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list uploads: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Type().IsRegular() && ValidName(e.Name()) {
			if err := fn(e.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}
