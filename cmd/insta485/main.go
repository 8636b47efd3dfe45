// Command insta485 runs the insta485 photo-sharing site (`insta485 serve`),
// manages its database (`insta485 db …`) and moves its uploads between
// stores (`insta485 uploads copy`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `insta485: a photo-sharing site.

Usage:
  insta485 serve [flags]          run the web server (port 8000 by default)
  insta485 db <command> [flags]   manage the database:
      create    create the schema and load the sample data (fails if it exists)
      destroy   remove the database and the uploaded files
      reset     destroy, then create
      dump      print every table's rows
      random    add generated posts (and, with flags, users, follows, likes, comments)
      migrate   apply schema migrations this version needs
      copy      copy a whole SQLite database into the configured one (--from PATH)
      backup    write a verified backup of the database and pictures (--to PATH)
      restore   restore a backup into an empty site (--from PATH; --verify only checks)
  insta485 uploads copy --from SRC
                                  copy every uploaded image from the store SRC
                                  (a directory or s3://BUCKET[/PREFIX]) into --uploads
  insta485 uploads check [--fix]  find (and remove) uploaded files no row names
  insta485 uploads reprocess      strip metadata from (and scale) pictures stored before
                                  the image pipeline

Run 'insta485 serve --help' or 'insta485 db <command> --help' for flags.
Every flag can also be set by the environment variable its help names.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "Error:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError is a command line that does not parse: exit status 2 like
// the flag package, except where the classic tools say 1.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "db":
		return db(ctx, args[1:], stdout, stderr)
	case "uploads":
		return uploads(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("unknown log format %q: use text or json", format)
}
