package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/config"
)

// errUploadsProblems is check's exit status 1: it found something that is
// still wrong when it ends, for cron jobs and monitoring to notice.
type errUploadsProblems struct{ orphans, missing int }

func (e errUploadsProblems) Error() string {
	return fmt.Sprintf("%d orphan file(s) to remove (run with --fix), %d missing file(s)", e.orphans, e.missing)
}

// uploadsCheck is `insta485 uploads check`: files in the upload store that
// no row names (and, with --fix, their removal), and rows whose file is
// missing.
func uploadsCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("insta485 uploads check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config.Config
	cfg.Register(fs, dbFlags...)
	fix := fs.Bool("fix", false, "remove the orphan files found (missing files are only reported)")
	grace := fs.Duration("grace", time.Hour, "leave files younger than this alone: their upload may still be in progress")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: insta485 uploads check [--fix] [--grace 1h] [flags]

Reports files in the upload store that no user or post names (left by a crash
between storing an upload and writing its row), and rows that name a file the
store lacks. --fix removes the orphan files older than --grace. Exit status 1
when something is still wrong afterwards.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("uploads check takes no arguments, got %q", fs.Args())}
	}
	if *grace < 0 {
		return usageError{"--grace must not be negative"}
	}
	s, uploads, err := openSite(ctx, &cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := blob.Check(ctx, uploads, s.Filenames, *grace, *fix, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checked %d file(s) in the upload store against %d name(s) in the database\n", rep.Files, rep.Names)
	verb := "orphan (no row names it)"
	if *fix {
		verb = "removed orphan (no row named it)"
	}
	for _, n := range rep.Orphans {
		fmt.Fprintf(stdout, "%s: %s\n", verb, n)
	}
	for _, n := range rep.Missing {
		fmt.Fprintf(stdout, "missing (a row names it, the store lacks it): %s\n", n)
	}
	if rep.Recent > 0 {
		fmt.Fprintf(stdout, "left alone: %d unnamed file(s) younger than %s (uploads in progress)\n", rep.Recent, *grace)
	}
	left := len(rep.Orphans) - rep.Removed
	if left > 0 || len(rep.Missing) > 0 {
		return errUploadsProblems{left, len(rep.Missing)}
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
