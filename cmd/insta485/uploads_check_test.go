package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// TestUploadsCheckFindsOrphansAndMissingFiles: an upload whose row was
// never written (a crash) is reported and, with --fix, removed with its
// variants once it is older than the grace period; a younger one stays; a
// row whose file is gone is reported; the site's own files stay.
func TestUploadsCheckFindsOrphansAndMissingFiles(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		opts := testenv.NewDatabase(t, backend)
		dir := filepath.Join(t.TempDir(), "uploads")
		if out, err := dbTool(t, opts, dir, "create"); err != nil {
			t.Fatalf("db create: %v\n%s", err, out)
		}
		check := func(args ...string) (string, error) {
			var out, errOut bytes.Buffer
			full := append([]string{"uploads", "check", "--database", opts.DSN, "--uploads", dir}, args...)
			err := run(context.Background(), full, &out, &errOut)
			return out.String() + errOut.String(), err
		}
		if out, err := check(); err != nil || !strings.Contains(out, "ok") {
			t.Fatalf("check of a fresh site: %v\n%s", err, out)
		}

		store, _ := blob.NewLocal(dir)
		ctx := context.Background()
		save := func() string {
			name, err := media.Save(ctx, store, bytes.NewReader(media.Landscape("orphan", 700)), "a.jpg", 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			return name
		}
		orphan, young := save(), save()
		old := time.Now().Add(-2 * time.Hour)
		orphanFiles := []string{orphan, blob.VariantName(orphan, 320), blob.VariantName(orphan, 640)}
		for _, n := range orphanFiles {
			if err := os.Chtimes(filepath.Join(dir, n), old, old); err != nil {
				t.Fatal(err)
			}
		}
		const gone = "2ec7cf8ae158b3b1f40065abfb33e81143707842.jpg" // post 4's picture
		if err := os.Remove(filepath.Join(dir, gone)); err != nil {
			t.Fatal(err)
		}
		before := dirNames(t, dir)

		out, err := check()
		if exitCode(err) != 1 {
			t.Errorf("check with problems = %v, want exit status 1", err)
		}
		for _, want := range append(orphanFiles, "missing (a row names it, the store lacks it): "+gone, "left alone: 3 unnamed file(s)") {
			if !strings.Contains(out, want) {
				t.Errorf("check output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, young) {
			t.Errorf("check reports the upload in progress %s:\n%s", young, out)
		}
		if after := dirNames(t, dir); after != before {
			t.Errorf("check without --fix changed the store:\nbefore %s\nafter  %s", before, after)
		}

		out, err = check("--fix")
		var problems errUploadsProblems
		if !errors.As(err, &problems) || problems.orphans != 0 || problems.missing != 1 {
			t.Errorf("check --fix = %v, want only the missing file left", err)
		}
		if !strings.Contains(out, "removed orphan (no row named it): "+orphan) {
			t.Errorf("check --fix output:\n%s", out)
		}
		want := before
		for _, n := range orphanFiles {
			want = strings.Replace(want, n+" ", "", 1)
		}
		if after := dirNames(t, dir); after != want {
			t.Errorf("check --fix left\n%s\nwant\n%s", after, want)
		}
		for _, n := range []string{young, blob.VariantName(young, 320), "e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg"} {
			if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
				t.Errorf("check --fix removed %s: %v", n, err)
			}
		}
	})
}

// dirNames lists dir's file names, sorted, each followed by a space.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Name() + " ")
	}
	return b.String()
}

// TestUploadsCheckOnS3 runs the check on a bucket of a real S3 server:
// the same report and removal through the store interface. Not parallel:
// the command reads the AWS_* variables from the process environment.
func TestUploadsCheckOnS3(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		srv := testenv.StartS3(t)
		srv.SetEnv(t)
		opts := testenv.NewDatabase(t, backend)
		if out, err := dbTool(t, opts, srv.Spec, "create"); err != nil {
			t.Fatalf("db create: %v\n%s", err, out)
		}
		ctx := context.Background()
		store := srv.Open(t)
		orphan, err := media.Save(ctx, store, bytes.NewReader(media.Landscape("orphan", 700)), "a.jpg", 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		const gone = "2ec7cf8ae158b3b1f40065abfb33e81143707842.jpg"
		if err := store.Delete(ctx, gone); err != nil {
			t.Fatal(err)
		}
		check := func(args ...string) (string, error) {
			var out, errOut bytes.Buffer
			full := append([]string{"uploads", "check", "--database", opts.DSN, "--uploads", srv.Spec}, args...)
			err := run(ctx, full, &out, &errOut)
			return out.String() + errOut.String(), err
		}
		// Just stored: left alone by the default grace period.
		out, err := check()
		if exitCode(err) != 1 || strings.Contains(out, orphan) || !strings.Contains(out, "left alone: 3") || !strings.Contains(out, "missing (a row names it, the store lacks it): "+gone) {
			t.Errorf("check: %v\n%s", err, out)
		}
		out, _ = check("--fix", "--grace", "0s")
		for _, n := range []string{orphan, blob.VariantName(orphan, 320), blob.VariantName(orphan, 640)} {
			if !strings.Contains(out, "removed orphan (no row named it): "+n) {
				t.Errorf("check --fix did not remove %s:\n%s", n, out)
			}
			if _, err := store.Open(ctx, n); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("%s is still in the bucket: %v", n, err)
			}
		}
		if n := len(objects(t, srv)); n != 7 {
			t.Errorf("after check --fix the bucket holds %d uploads, want the 7 samples left", n)
		}
	})
}
