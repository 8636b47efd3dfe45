// Package backup makes and restores whole-site backups (`insta485 db
// backup` and `db restore`): the database's rows as of one moment, every
// picture those rows name, and a manifest with checksums of both.
//
// A backup is a directory:
//
//	manifest.json      what is in it, with counts and checksums
//	database.sqlite3   the rows (dbadmin.Snapshot), an SQLite file
//	uploads/           the pictures the rows name, with their width variants
//
// It restores into either backend through `db copy`'s verified path, so a
// backup of an SQLite site restores into PostgreSQL and back.
package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
)

// Format is the version of the backup layout this package writes.
const Format = 1

const (
	manifestName = "manifest.json"
	uploadsDir   = "uploads"
)

// Manifest describes a backup.
type Manifest struct {
	Format        int       `json:"format"`
	Created       time.Time `json:"created"`
	Backend       string    `json:"backend"`
	SchemaVersion int       `json:"schema_version"`
	Database      File      `json:"database"`
	Tables        []Table   `json:"tables"`
	// Files are the pictures in uploads/: each upload a row names and
	// the width variants the store had of it.
	Files []File `json:"files"`
	// Missing are names rows refer to whose file the upload store did not
	// hold when the backup was taken (the site already lacked them).
	Missing []string `json:"missing,omitempty"`
	// DeferredDeletes counts pictures whose rows were deleted while the
	// backup ran: the backup kept them until it had copied them, then
	// deleted them from the store.
	DeferredDeletes int `json:"deferred_deletes"`
}

// Table is one table's row count and checksum.
type Table struct {
	Name     string `json:"name"`
	Rows     int64  `json:"rows"`
	Checksum string `json:"checksum"`
	NextID   int64  `json:"next_id,omitempty"`
}

// File is one file's name (relative to its place in the backup), size and
// SHA-256.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ErrDamaged wraps everything Verify finds wrong with a backup.
var ErrDamaged = errors.New("the backup is damaged or incomplete")

// Backup writes a backup of the site (database opts, upload store) into
// dir, which must not exist. It is written beside dir under a temporary
// name and renamed into place when complete, so a dir that exists holds a
// whole backup.
func Backup(ctx context.Context, opts storage.Options, store blob.Store, dir string, progress func(dbadmin.CopyProgress)) (Manifest, error) {
	m := Manifest{Format: Format, Created: time.Now().UTC()}
	if progress == nil {
		progress = func(dbadmin.CopyProgress) {}
	}
	if _, err := os.Stat(dir); err == nil {
		return m, fmt.Errorf("%s already exists: back up into a new path", dir)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return m, fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return m, fmt.Errorf("create the backup directory: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Mkdir(filepath.Join(tmp, uploadsDir), 0o755); err != nil {
		return m, err
	}
	dbPath := filepath.Join(tmp, dbadmin.SnapshotFile)
	rep, err := dbadmin.Snapshot(ctx, opts, dbPath, dbadmin.SnapshotOptions{
		Progress: progress,
		Leased: func(ctx context.Context, rep dbadmin.SnapshotReport, s *storage.Store) error {
			if err := copyPictures(ctx, store, rep.Files, filepath.Join(tmp, uploadsDir), &m, progress); err != nil {
				return err
			}
			n, err := removeDeferred(ctx, s, store, rep.Files)
			m.DeferredDeletes = n
			return err
		},
	})
	if err != nil {
		return m, err
	}
	m.Backend, m.SchemaVersion = rep.Backend, rep.SchemaVersion
	for _, t := range rep.Tables {
		m.Tables = append(m.Tables, Table{Name: t.Table, Rows: t.SourceRows, Checksum: t.SourceCheck, NextID: t.NextID})
	}
	if m.Database, err = sumFile(dbPath, dbadmin.SnapshotFile); err != nil {
		return m, err
	}
	if err := syncFile(dbPath); err != nil {
		return m, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := writeFile(filepath.Join(tmp, manifestName), b); err != nil {
		return m, err
	}
	for _, d := range []string{filepath.Join(tmp, uploadsDir), tmp} {
		if err := syncFile(d); err != nil {
			return m, err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return m, fmt.Errorf("move the finished backup into place: %w", err)
	}
	done = true
	return m, syncFile(parent)
}

// copyPictures copies each named upload and its width variants from store
// into dir, recording them in m.
func copyPictures(ctx context.Context, store blob.Store, names []string, dir string, m *Manifest, progress func(dbadmin.CopyProgress)) error {
	for i, name := range names {
		if !blob.ValidName(name) {
			m.Missing = append(m.Missing, name) // no store can hold it
			continue
		}
		for _, n := range append([]string{name}, variantNames(name)...) {
			f, err := copyPicture(ctx, store, n, dir)
			if errors.Is(err, blob.ErrNotFound) {
				if n == name {
					m.Missing = append(m.Missing, name)
				}
				continue // a variant is made again on first request
			}
			if err != nil {
				return err
			}
			m.Files = append(m.Files, f)
		}
		if (i+1)%1000 == 0 || i+1 == len(names) {
			progress(dbadmin.CopyProgress{Stage: "uploads", Done: int64(i + 1), Total: int64(len(names))})
		}
	}
	return nil
}

func variantNames(name string) []string {
	var vs []string
	for _, w := range media.VariantWidths {
		vs = append(vs, blob.VariantName(name, w))
	}
	return vs
}

func copyPicture(ctx context.Context, store blob.Store, name, dir string) (File, error) {
	src, err := store.Open(ctx, name)
	if err != nil {
		return File{}, err
	}
	defer src.Close()
	out, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return File{}, fmt.Errorf("write %s into the backup: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), src)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, fmt.Errorf("copy %s into the backup: %w", name, err)
	}
	return File{Name: uploadsDir + "/" + name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// removeDeferred deletes from the store the pictures the snapshot named
// that no row names any more: the app kept them while the lease was held.
func removeDeferred(ctx context.Context, s *storage.Store, store blob.Store, snapshot []string) (int, error) {
	now := map[string]bool{}
	if err := s.Filenames(ctx, func(n string) error {
		now[n] = true
		return nil
	}); err != nil {
		return 0, err
	}
	removed := 0
	for _, n := range snapshot {
		if now[n] || !blob.ValidName(n) {
			continue
		}
		if err := media.Remove(ctx, store, n); err != nil {
			return removed, fmt.Errorf("delete %s, whose row went during the backup: %w", n, err)
		}
		removed++
	}
	return removed, nil
}

// Verify checks the backup in dir against its manifest: the database
// file's and every picture's size and SHA-256, each table's row count and
// checksum, and that every picture a row names is there (or was already
// missing when the backup was taken). Problems wrap ErrDamaged.
func Verify(ctx context.Context, dir string) (Manifest, error) {
	m, err := verifyFiles(dir)
	if err != nil {
		return m, err
	}
	rep, err := dbadmin.ChecksumSnapshot(ctx, filepath.Join(dir, dbadmin.SnapshotFile))
	if err != nil {
		return m, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if err := compareTables(m, rep.Tables); err != nil {
		return m, err
	}
	return m, coversPictures(m, rep.Files)
}

// coversPictures checks that the backup holds every picture the rows name,
// or says the site already lacked it.
func coversPictures(m Manifest, named []string) error {
	have := map[string]bool{}
	for _, f := range m.Files {
		have[f.Name] = true
	}
	for _, n := range m.Missing {
		have[uploadsDir+"/"+n] = true
	}
	for _, n := range named {
		if !have[uploadsDir+"/"+n] {
			return fmt.Errorf("%w: the rows name the picture %s, which the backup does not hold", ErrDamaged, n)
		}
	}
	return nil
}

// verifyFiles reads the manifest and checks every file it lists.
func verifyFiles(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return m, fmt.Errorf("no backup at %s: %w", dir, serr)
		}
		return m, fmt.Errorf("%w: %s has no %s (not a backup, or an unfinished one)", ErrDamaged, dir, manifestName)
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %s does not parse (%v)", ErrDamaged, manifestName, err)
	}
	if m.Format != Format {
		return m, fmt.Errorf("the backup's format is %d; this insta485 reads format %d", m.Format, Format)
	}
	if m.Database.Name != dbadmin.SnapshotFile {
		return m, fmt.Errorf("%w: the manifest names no %s", ErrDamaged, dbadmin.SnapshotFile)
	}
	for _, f := range append([]File{m.Database}, m.Files...) {
		if f.Name != dbadmin.SnapshotFile {
			base, ok := strings.CutPrefix(f.Name, uploadsDir+"/")
			if !ok || !blob.ValidName(base) {
				return m, fmt.Errorf("%w: the manifest lists %q, which is not a picture name", ErrDamaged, f.Name)
			}
		}
		got, err := sumFile(filepath.Join(dir, filepath.FromSlash(f.Name)), f.Name)
		if err != nil {
			return m, fmt.Errorf("%w: %v", ErrDamaged, err)
		}
		switch {
		case got.Size != f.Size:
			return m, fmt.Errorf("%w: %s is %d bytes, the manifest says %d (truncated?)", ErrDamaged, f.Name, got.Size, f.Size)
		case got.SHA256 != f.SHA256:
			return m, fmt.Errorf("%w: %s does not match its checksum in the manifest (altered or corrupted)", ErrDamaged, f.Name)
		}
	}
	return m, nil
}

// compareTables checks tables read from the backup's database against the
// manifest.
func compareTables(m Manifest, tables []dbadmin.CopyTableReport) error {
	if len(tables) != len(m.Tables) {
		return fmt.Errorf("%w: the manifest lists %d tables, the backup's database has %d", ErrDamaged, len(m.Tables), len(tables))
	}
	for i, t := range tables {
		want := m.Tables[i]
		if want.Name != t.Table || want.Rows != t.SourceRows || want.Checksum != t.SourceCheck {
			return fmt.Errorf("%w: table %s has %d rows with checksum %s, the manifest says %s has %d rows with checksum %s",
				ErrDamaged, t.Table, t.SourceRows, t.SourceCheck, want.Name, want.Rows, want.Checksum)
		}
	}
	return nil
}

// ErrTargetNotEmpty is returned when the site to restore into has data.
var ErrTargetNotEmpty = errors.New("restore only into an empty site")

// Restore checks the backup in dir and restores it into the site: the
// database opts names (an SQLite file that does not exist yet, or a
// PostgreSQL database without insta485 tables) and store, which must be
// empty. On any failure the database and the store are left as they were.
func Restore(ctx context.Context, dir string, opts storage.Options, store blob.Store, progress func(dbadmin.CopyProgress)) (Manifest, dbadmin.CopyReport, error) {
	var rep dbadmin.CopyReport
	if progress == nil {
		progress = func(dbadmin.CopyProgress) {}
	}
	m, err := verifyFiles(dir)
	if err != nil {
		return m, rep, err
	}
	if !storage.IsPostgres(opts.DSN) {
		if _, err := os.Stat(opts.DSN); err == nil {
			return m, rep, fmt.Errorf("%w: the SQLite database %s already exists (restore creates it: move it away, or run `insta485 db destroy`)", ErrTargetNotEmpty, opts.DSN)
		}
	} else if ok, err := dbadmin.Exists(ctx, opts); err != nil {
		return m, rep, err
	} else if ok {
		return m, rep, fmt.Errorf("%w: the PostgreSQL database already has insta485's tables (restore into a new database, or run `insta485 db destroy` on this one)", ErrTargetNotEmpty)
	}
	if names, err := blob.Names(ctx, store); err != nil {
		return m, rep, fmt.Errorf("list the upload store: %w", err)
	} else if len(names) > 0 {
		return m, rep, fmt.Errorf("%w: the upload store holds %d files (restore into an empty one, or run `insta485 db destroy`)", ErrTargetNotEmpty, len(names))
	}
	var pictures []string
	for _, f := range m.Files {
		base, _ := strings.CutPrefix(f.Name, uploadsDir+"/")
		pictures = append(pictures, base)
	}
	slices.Sort(pictures)
	copied := false
	rep, err = dbadmin.CopyFrom(ctx, filepath.Join(dir, dbadmin.SnapshotFile), opts, dbadmin.CopyOptions{
		Progress: progress,
		CheckSource: func(tables []dbadmin.CopyTableReport) error {
			return compareTables(m, tables)
		},
		BeforeCommit: func(ctx context.Context, named []string) error {
			if err := coversPictures(m, named); err != nil {
				return err
			}
			copied = true
			res, err := blob.Copy(ctx, store, &blob.Local{Dir: filepath.Join(dir, uploadsDir)}, pictures, func(done, total int) {
				progress(dbadmin.CopyProgress{Stage: "uploads", Done: int64(done), Total: int64(total)})
			})
			if err != nil {
				return fmt.Errorf("copy the pictures into the upload store: %w", err)
			}
			if len(res.Missing) > 0 {
				return fmt.Errorf("%w: %s vanished from the backup while it was restored", ErrDamaged, res.Missing[0])
			}
			return nil
		},
	})
	if err != nil && copied {
		if cerr := store.Clear(context.WithoutCancel(ctx)); cerr != nil {
			err = fmt.Errorf("%w (and removing the pictures copied so far failed: %v)", err, cerr)
		}
	}
	return m, rep, err
}

func sumFile(path, name string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("read %s: %w", name, err)
	}
	return File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncFile flushes a file or directory to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("flush %s to disk: %w", path, err)
	}
	return nil
}
