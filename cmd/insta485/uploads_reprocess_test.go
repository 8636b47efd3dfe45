package main

import (
	"bytes"
	"context"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// TestUploadsReprocess: a site whose post 4 picture was stored byte for
// byte by an older insta485 (a phone photo, turned and with GPS) gets it
// upright and stripped; the other pictures, already processed, are left
// alone; a second run does nothing.
func TestUploadsReprocess(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		opts := testenv.NewDatabase(t, backend)
		dir := filepath.Join(t.TempDir(), "uploads")
		if out, err := dbTool(t, opts, dir, "create"); err != nil {
			t.Fatalf("db create: %v\n%s", err, out)
		}
		const old = "2ec7cf8ae158b3b1f40065abfb33e81143707842.jpg" // post 4's picture
		store, _ := blob.NewLocal(dir)
		if err := media.Remove(context.Background(), store, old); err != nil {
			t.Fatal(err)
		}
		photo := testenv.WithEXIF(testenv.MarkedPhoto(t, 1600, 800), 6)
		if err := os.WriteFile(filepath.Join(dir, old), photo, 0o644); err != nil {
			t.Fatal(err)
		}
		reprocess := func() (string, error) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"uploads", "reprocess", "--database", opts.DSN, "--uploads", dir}, &out, &errOut)
			return out.String() + errOut.String(), err
		}
		// A picture from before migration 0004 has no size row.
		s, err := dbadmin.Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.DeletePictures(context.Background(), old); err != nil {
			t.Fatal(err)
		}
		out, err := reprocess()
		if err != nil || !strings.Contains(out, "reprocessed: "+old) || !strings.Contains(out, "reprocessed 1 of 8 picture(s)") {
			t.Fatalf("uploads reprocess: %v\n%s", err, out)
		}
		data, _ := os.ReadFile(filepath.Join(dir, old))
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width != 540 || cfg.Height != 1080 || bytes.Contains(data, []byte("Exif")) {
			t.Errorf("after reprocess %s is %dx%d (%v), EXIF left: %v", old, cfg.Width, cfg.Height, err, bytes.Contains(data, []byte("Exif")))
		}
		for _, w := range media.VariantWidths {
			if _, err := os.Stat(filepath.Join(dir, blob.VariantName(old, w))); err != nil {
				t.Errorf("no %d variant: %v", w, err)
			}
		}
		var all []string
		for _, p := range dbadmin.SamplePictures {
			all = append(all, p.Filename)
		}
		pics, err := s.Pictures(context.Background(), all)
		if err != nil || pics[old].Width != 540 || pics[old].Height != 1080 || pics[old].Color == "" {
			t.Errorf("after reprocess %s's row is %+v (%v); want 540×1080 with a colour", old, pics[old], err)
		}
		for _, p := range dbadmin.SamplePictures {
			if p.Filename != old && pics[p.Filename] != p {
				t.Errorf("reprocess changed the row of %s, which needed nothing: %+v, was %+v", p.Filename, pics[p.Filename], p)
			}
		}
		if out, err := reprocess(); err != nil || !strings.Contains(out, "reprocessed 0 of 8 picture(s)") {
			t.Errorf("second uploads reprocess: %v\n%s", err, out)
		}
	})
}
