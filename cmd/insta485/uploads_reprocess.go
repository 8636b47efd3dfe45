package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/config"
	"github.com/insta485/insta485/internal/media"
)

// uploadsReprocess is `insta485 uploads reprocess`: every picture a row
// names that was stored before the image pipeline (media.NeedsProcessing)
// is replaced by its upright, scaled, metadata-free version under the same
// name, with its width variants.
func uploadsReprocess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("insta485 uploads reprocess", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config.Config
	cfg.Register(fs, dbFlags...)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: insta485 uploads reprocess [flags]

Runs every picture stored before this version's image pipeline through it:
turned upright, at most 1080 pixels, and without EXIF, GPS or other metadata,
under the same name, with its smaller copies. Pictures that need nothing are
left alone, so it can be run again; one that cannot be read is reported and
left as it is.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("uploads reprocess takes no arguments, got %q", fs.Args())}
	}
	s, uploads, err := openSite(ctx, &cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	// The names first: the rows are not held open while pictures are
	// processed.
	var names []string
	if err := s.Filenames(ctx, func(n string) error {
		names = append(names, n)
		return nil
	}); err != nil {
		return err
	}
	var changed, failed int
	for _, n := range names {
		ok, err := media.Reprocess(ctx, uploads, n)
		switch {
		case errors.Is(err, blob.ErrNotFound):
			fmt.Fprintf(stdout, "missing: %s\n", n)
		case errors.Is(err, media.ErrNotImage) || errors.Is(err, media.ErrTooManyPixels):
			failed++
			fmt.Fprintf(stdout, "left as it is: %v\n", err)
		case err != nil:
			return fmt.Errorf("%w (reprocessed %d before the failure; run the command again to go on)", err, changed)
		case ok:
			changed++
			fmt.Fprintf(stdout, "reprocessed: %s\n", n)
		}
	}
	fmt.Fprintf(stdout, "reprocessed %d of %d picture(s); %d could not be read\n", changed, len(names), failed)
	return nil
}
