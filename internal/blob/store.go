// Package blob stores uploaded files by name: a local directory (local.go)
// or a bucket of S3-compatible object storage (s3.go), behind one Store
// interface; the upload names it accepts and hands out (names.go); copying
// every upload between stores (copy.go) and checking a store against the
// names the database holds (check.go). It knows nothing of images: that is
// internal/media.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// ErrNotFound is returned for a file the store does not hold.
var ErrNotFound = errors.New("no such upload")

// ErrUnavailable wraps failures of a store that cannot be reached or is
// overloaded right now (an object store that is down, answers 5xx or
// asks to slow down). The HTTP layers answer 503 with Retry-After: trying
// again later may work, and nothing was half done.
var ErrUnavailable = errors.New("the upload store is unavailable")

// Store holds image files by name. Names are flat: no directories.
type Store interface {
	// Put stores r under name, atomically: a reader never sees half a
	// file, and a failed Put leaves nothing.
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

// File is an open stored file. It seeks, so that http.ServeContent can
// answer range requests from it.
type File interface {
	io.ReadSeekCloser
	ModTime() time.Time
	// ETag is an opaque validator of the content, without quotes; ""
	// when the store has none.
	ETag() string
}

// validName matches the names this package hands out and the sample data
// uses: hex digits and one image extension, optionally with a width
// variant's "-w320" or "-w640" (VariantWidths) before the extension.
// Anything else (paths, dots, slashes) is never looked up.
var validName = regexp.MustCompile(`^[0-9a-f]{32,40}(-w(320|640))?\.(png|jpg|jpeg|gif|webp)$`)

// ValidName reports whether name could be an upload's or a variant's name.
func ValidName(name string) bool { return validName.MatchString(name) }

// IsS3 reports whether spec names an object store (s3://BUCKET[/PREFIX])
// rather than a directory.
func IsS3(spec string) bool { return strings.HasPrefix(spec, "s3://") }

// Open returns the store spec names: s3://BUCKET[/PREFIX] for a bucket of
// S3-compatible object storage, configured by the standard AWS settings
// in the environment (see S3ConfigFromEnv), or else a local directory,
// created if needed.
func Open(ctx context.Context, spec string) (Store, error) {
	return OpenEnv(ctx, spec, os.Getenv)
}

// OpenEnv is Open with the AWS settings read through getenv instead of the
// process environment: tests run several object stores side by side.
func OpenEnv(ctx context.Context, spec string, getenv func(string) string) (Store, error) {
	if IsS3(spec) {
		cfg, err := S3ConfigFromEnv(spec, getenv)
		if err != nil {
			return nil, err
		}
		return NewS3(ctx, cfg)
	}
	if scheme, _, ok := strings.Cut(spec, "://"); ok && !strings.ContainsAny(scheme, "/\\") {
		// gs://, https://, s3a://: a store of another kind, not a directory
		// named like one.
		return nil, fmt.Errorf("upload store %q: use a directory or s3://BUCKET[/PREFIX] (for Google Cloud Storage, R2 and others, their S3 endpoint)", spec)
	}
	return NewLocal(spec)
}
