package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/insta485/insta485/internal/backup"
	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/storage"
)

// backupTo is `insta485 db backup --to PATH`: the report goes to stdout,
// progress to stderr.
func backupTo(ctx context.Context, opts storage.Options, uploads blob.Store, to string, stdout, stderr io.Writer) error {
	if to == "" {
		return usageError{"db backup needs --to: a new directory to write the backup into"}
	}
	// One snapshot reads whole tables: a statement timeout meant for the
	// site's requests would cut it off.
	opts.StatementTimeout = 0
	start := time.Now()
	fmt.Fprintf(stderr, "backing up %s and its pictures into %s\n", describeDatabase(opts.DSN), to)
	p := &copyProgress{w: stderr, start: start}
	m, err := backup.Backup(ctx, opts, uploads, to, p.show)
	if err != nil {
		return fmt.Errorf("%w\nno backup was written", err)
	}
	printManifest(stdout, m)
	fmt.Fprintf(stdout, "backed up in %s into %s\n", time.Since(start).Round(100*time.Millisecond), to)
	return nil
}

// restoreFrom is `insta485 db restore --from PATH [--verify]`.
func restoreFrom(ctx context.Context, opts storage.Options, uploads blob.Store, from string, verifyOnly bool, stdout, stderr io.Writer) error {
	if from == "" {
		return usageError{"db restore needs --from: the directory a db backup wrote"}
	}
	start := time.Now()
	if verifyOnly {
		m, err := backup.Verify(ctx, from)
		if err != nil {
			return err
		}
		printManifest(stdout, m)
		fmt.Fprintf(stdout, "verified: every checksum matches the manifest (%s)\n", time.Since(start).Round(100*time.Millisecond))
		return nil
	}
	opts.StatementTimeout = 0 // as for a backup: whole tables in one go
	fmt.Fprintf(stderr, "restoring %s into %s\n", from, describeDatabase(opts.DSN))
	p := &copyProgress{w: stderr, start: start}
	m, rep, err := backup.Restore(ctx, from, opts, uploads, p.show)
	if len(rep.Tables) > 0 {
		printCopyReport(stdout, rep)
	}
	if err != nil {
		return fmt.Errorf("%w\nthe database and the upload store are unchanged", err)
	}
	fmt.Fprintf(stdout, "verified: every table and picture matches the backup of %s (%s, schema version %d)\n",
		m.Created.Format(time.RFC3339), m.Backend, m.SchemaVersion)
	fmt.Fprintf(stdout, "restored %d pictures; everyone starts logged out\n", len(m.Files))
	fmt.Fprintf(stdout, "restored in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func printManifest(w io.Writer, m backup.Manifest) {
	fmt.Fprintf(w, "backup of %s (%s, schema version %d)\n", m.Created.Format(time.RFC3339), m.Backend, m.SchemaVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\trows\tchecksum")
	for _, t := range m.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", t.Name, t.Rows, t.Checksum)
	}
	tw.Flush()
	var bytes int64
	for _, f := range m.Files {
		bytes += f.Size
	}
	fmt.Fprintf(w, "pictures: %d files, %d bytes\n", len(m.Files), bytes)
	if len(m.Missing) > 0 {
		shown := m.Missing[:min(len(m.Missing), 10)]
		fmt.Fprintf(w, "missing from the upload store when backed up (rows name them): %s\n", strings.Join(shown, ", "))
	}
	if m.DeferredDeletes > 0 {
		fmt.Fprintf(w, "pictures deleted on the site during the backup: %d (kept in the backup, removed from the store after)\n", m.DeferredDeletes)
	}
}
