package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

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

type localFile struct {
	*os.File
	info os.FileInfo
}

func (f localFile) ModTime() time.Time { return f.info.ModTime() }

// ETag is the size and modification time: a file under one name is never
// rewritten with other content, and a copy gets a new time anyway.
func (f localFile) ETag() string {
	return strconv.FormatInt(f.info.Size(), 16) + "-" + strconv.FormatInt(f.info.ModTime().UnixNano(), 16)
}

// Open opens name for reading.
func (l *Local) Open(_ context.Context, name string) (File, error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	// Only a regular file is ever opened: a symbolic link, directory, FIFO
	// or device named like an upload is ErrNotFound, so a link planted in
	// the directory (say to /etc/passwd) never serves its target. The name
	// is checked before the open (a FIFO would block it) and the open file
	// after (the same file, in case the name was swapped for a link in
	// between).
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
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() || !os.SameFile(before, info) {
		f.Close()
		return nil, ErrNotFound
	}
	return localFile{f, info}, nil
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
