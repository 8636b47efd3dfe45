package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/config"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
)

const uploadsUsage = `Usage: insta485 uploads copy --from SRC [--uploads DST]
       insta485 uploads check [--fix] [--grace 1h]   (see uploads check --help)
       insta485 uploads reprocess                   (see uploads reprocess --help)

Copies every uploaded image from the store SRC (a directory, or
s3://BUCKET[/PREFIX]) into the configured upload store DST, for example
from the local directory into object storage. Each file is read back and
compared; files DST already holds with the same content are skipped, so
an interrupted copy can be run again. SRC is never changed.`

// uploads runs `insta485 uploads copy`, `check` (uploads_check.go) and
// `reprocess` (uploads_reprocess.go).
func uploads(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "check" {
		return uploadsCheck(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "reprocess" {
		return uploadsReprocess(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "copy" {
		fmt.Fprintln(stderr, uploadsUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		if len(args) == 0 {
			return usageError{"no uploads command given"}
		}
		return usageError{fmt.Sprintf("unknown uploads command %q", args[0])}
	}
	fs := flag.NewFlagSet("insta485 uploads copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config.Config
	cfg.Register(fs, "uploads")
	from := fs.String("from", "", "the store to copy from: a directory, or s3://BUCKET[/PREFIX]")
	fs.Usage = func() {
		fmt.Fprintln(stderr, uploadsUsage+"\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("uploads copy takes no arguments, got %q", fs.Args())}
	}
	if *from == "" {
		return usageError{"uploads copy needs --from: the directory or s3:// store to copy from"}
	}
	if *from == cfg.Uploads {
		return usageError{fmt.Sprintf("--from and --uploads both name %s: copy from one store into another", *from)}
	}
	if !blob.IsS3(*from) {
		// Opening a directory creates it; a mistyped source must not turn
		// into an empty copy that "succeeds".
		if st, err := os.Stat(*from); err != nil || !st.IsDir() {
			return fmt.Errorf("--from %s: not a directory of uploads (%v)", *from, err)
		}
	}
	src, err := blob.Open(ctx, *from)
	if err != nil {
		return fmt.Errorf("source store: %w", err)
	}
	dst, err := blob.Open(ctx, cfg.Uploads)
	if err != nil {
		return fmt.Errorf("destination store: %w", err)
	}
	names, err := blob.Names(ctx, src)
	if err != nil {
		return fmt.Errorf("list the source store: %w", err)
	}
	rep, err := blob.Copy(ctx, dst, src, names, func(done, total int) {
		if done%100 == 0 || done == total {
			fmt.Fprintf(stderr, "%d/%d files\n", done, total)
		}
	})
	if err != nil {
		return fmt.Errorf("%w (copied %d, skipped %d before the failure; run the same command again to resume)", err, rep.Copied, rep.Skipped)
	}
	fmt.Fprintf(stdout, "copied %d file(s), skipped %d already there, %d in all; every file verified\n",
		rep.Copied, rep.Skipped, len(names))
	if len(rep.Missing) > 0 {
		// Listed a moment ago and gone now: deleted meanwhile by the site.
		fmt.Fprintf(stdout, "%d file(s) were deleted from the source during the copy: %v\n", len(rep.Missing), rep.Missing)
	}
	return nil
}

// openSite opens the configured database (which must exist and be current)
// and upload store, for the commands that compare the two.
func openSite(ctx context.Context, cfg *config.Config) (*storage.Store, blob.Store, error) {
	opts, err := cfg.Storage()
	if err != nil {
		return nil, nil, err
	}
	s, err := dbadmin.Open(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	uploads, err := blob.Open(ctx, cfg.Uploads)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, uploads, nil
}
