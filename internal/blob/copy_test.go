package blob

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCopyCopiesVerifiesAndResumes(t *testing.T) {
	ctx := context.Background()
	src, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dst, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, b, gone := NewName(".jpg"), NewName(".png"), NewName(".gif")
	for name, body := range map[string]string{a: "aaa", b: "bbb"} {
		if err := src.Put(ctx, name, bytes.NewBufferString(body)); err != nil {
			t.Fatal(err)
		}
	}
	// Not an upload name: List must not offer it.
	if err := os.WriteFile(filepath.Join(src.Dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := Names(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	want := []string{a, b}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("Names = %v, want %v", names, want)
	}

	// b is already there but different: it must be overwritten.
	if err := dst.Put(ctx, b, bytes.NewBufferString("stale")); err != nil {
		t.Fatal(err)
	}
	rep, err := Copy(ctx, dst, src, []string{a, b, gone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 2 || rep.Skipped != 0 || !slices.Equal(rep.Missing, []string{gone}) {
		t.Fatalf("first copy: %+v", rep)
	}
	for name, body := range map[string]string{a: "aaa", b: "bbb"} {
		f, err := dst.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if string(got) != body {
			t.Errorf("%s = %q, want %q", name, got, body)
		}
	}
	// Running it again copies nothing.
	rep, err = Copy(ctx, dst, src, []string{a, b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 0 || rep.Skipped != 2 {
		t.Fatalf("second copy: %+v", rep)
	}
}
