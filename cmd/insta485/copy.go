package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
)

// copyFrom is `insta485 db copy --from PATH [--uploads-from DIR]`: the
// whole SQLite database at PATH into the configured database, verified, and
// with --uploads-from the upload files its rows name into the upload store.
// The report goes to stdout, progress to stderr.
func copyFrom(ctx context.Context, opts storage.Options, uploads blob.Store, from, uploadsFrom, uploadsName string, stdout, stderr io.Writer) error {
	if from == "" {
		return usageError{"db copy needs --from: the path of the SQLite database to copy"}
	}
	if storage.IsPostgres(from) {
		return usageError{"db copy copies from an SQLite database file: --from must be its path, and --database (or INSTA485_DATABASE) names the target"}
	}
	var oldUploads blob.Store
	switch {
	case strings.HasPrefix(uploadsFrom, "s3://"):
		var err error
		if oldUploads, err = blob.Open(ctx, uploadsFrom); err != nil {
			return fmt.Errorf("--uploads-from: %w", err)
		}
	case uploadsFrom != "":
		// Not blob.Open: a mistyped directory must not be created empty.
		if st, err := os.Stat(uploadsFrom); err != nil || !st.IsDir() {
			return fmt.Errorf("--uploads-from %s is not a directory: give the old site's upload directory (or its s3://BUCKET[/PREFIX])", uploadsFrom)
		}
		oldUploads = &blob.Local{Dir: uploadsFrom}
	}
	start := time.Now()
	fmt.Fprintf(stderr, "copying %s into %s\n", from, describeDatabase(opts.DSN))
	var files blob.CopyReport
	p := &copyProgress{w: stderr, start: start}
	rep, err := dbadmin.CopyFrom(ctx, from, opts, dbadmin.CopyOptions{
		Progress: p.show,
		BeforeCommit: func(ctx context.Context, names []string) error {
			if oldUploads == nil {
				return nil
			}
			fmt.Fprintf(stderr, "copying %d upload files from %s\n", len(names), uploadsFrom)
			var err error
			files, err = blob.Copy(ctx, uploads, oldUploads, names, func(done, total int) {
				p.show(dbadmin.CopyProgress{Stage: "uploads", Done: int64(done), Total: int64(total)})
			})
			if err != nil {
				return fmt.Errorf("copy the upload files (the files already copied stay and are skipped next time): %w", err)
			}
			return nil
		},
	})
	if len(rep.Tables) > 0 {
		printCopyReport(stdout, rep)
	}
	if err != nil {
		return fmt.Errorf("%w\nthe target database is unchanged", err)
	}
	fmt.Fprintf(stdout, "verified: every table's row count and checksum match the source\n")
	if oldUploads != nil {
		fmt.Fprintf(stdout, "upload files: %d copied, %d already there, %d missing from %s\n", files.Copied, files.Skipped, len(files.Missing), uploadsFrom)
		if len(files.Missing) > 0 {
			shown := files.Missing[:min(len(files.Missing), 10)]
			fmt.Fprintf(stdout, "missing (their pictures will not show): %s\n", strings.Join(shown, ", "))
		}
	} else {
		fmt.Fprintf(stdout, "the copied rows name %d upload files: copy them from the old site's upload directory into %s (or copy again with --uploads-from DIR)\n", len(rep.Files), uploadsName)
	}
	fmt.Fprintf(stdout, "copied in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func printCopyReport(w io.Writer, rep dbadmin.CopyReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\tsource rows\ttarget rows\tsource checksum\ttarget checksum\tnext id")
	for _, t := range rep.Tables {
		next := "-"
		if t.NextID > 0 {
			next = fmt.Sprint(t.NextID)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", t.Table, t.SourceRows, t.TargetRows, t.SourceCheck, t.TargetCheck, next)
	}
	tw.Flush()
}

// copyProgress prints at most one progress line a second.
type copyProgress struct {
	w     io.Writer
	start time.Time
	last  time.Time
	stage string
}

func (p *copyProgress) show(c dbadmin.CopyProgress) {
	if c.Stage == p.stage && time.Since(p.last) < time.Second && (c.Total == 0 || c.Done < c.Total) {
		return
	}
	p.stage, p.last = c.Stage, time.Now()
	fmt.Fprintf(p.w, "%6.1fs", time.Since(p.start).Seconds())
	switch c.Stage {
	case "copy":
		fmt.Fprintf(p.w, "  copy %s: %d of %d rows\n", c.Table, c.Done, c.Total)
	case "feed":
		fmt.Fprintf(p.w, "  filling every user's feed\n")
	case "index":
		fmt.Fprintf(p.w, "  rebuilding indexes and foreign keys\n")
	case "verify":
		fmt.Fprintf(p.w, "  verify %s: %d of %d rows read back\n", c.Table, c.Done, c.Total)
	case "uploads":
		fmt.Fprintf(p.w, "  upload files: %d of %d\n", c.Done, c.Total)
	}
}

// describeDatabase names a database for output without its password.
func describeDatabase(dsn string) string {
	if !storage.IsPostgres(dsn) {
		return "SQLite database " + dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "the PostgreSQL database"
	}
	return fmt.Sprintf("PostgreSQL database %s on %s", strings.TrimPrefix(u.Path, "/"), u.Host)
}
