package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// dbTool runs `insta485 db args…` against opts with uploads in dir.
func dbTool(t *testing.T, opts storage.Options, dir string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"db"}, args...)
	full = append(full, "--database", opts.DSN, "--uploads", dir)
	err := run(context.Background(), full, &out, &errOut)
	return out.String() + errOut.String(), err
}

// countFiles counts the files in dir other than uploads' width variants.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	// Width variants are stored beside each upload and come and go with
	// it; count the uploads (and anything else) only.
	n := 0
	for _, e := range entries {
		if _, w := blob.MainName(e.Name()); w == 0 {
			n++
		}
	}
	return n
}

func TestDBToolLifecycle(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		opts := testenv.NewDatabase(t, backend)
		uploads := filepath.Join(t.TempDir(), "uploads")
		ctx := context.Background()

		if out, err := dbTool(t, opts, uploads, "create"); err != nil {
			t.Fatalf("db create: %v\n%s", err, out)
		}
		if n := countFiles(t, uploads); n != 8 {
			t.Errorf("db create wrote %d images, want the 8 sample images", n)
		}
		_, err := dbTool(t, opts, uploads, "create")
		if !errors.Is(err, dbadmin.ErrExists) || err.Error() != "database already exists" || exitCode(err) != 1 {
			t.Errorf("second db create = %v (exit %d), want \"database already exists\", exit 1", err, exitCode(err))
		}

		out, err := dbTool(t, opts, uploads, "dump")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"users", "posts", "following", "comments", "likes", "awdeorio", "Cute overload!", "(6 rows)"} {
			if !strings.Contains(out, want) {
				t.Errorf("dump lacks %q", want)
			}
		}

		out, err = dbTool(t, opts, uploads, "random", "--seed", "7")
		if err != nil {
			t.Fatalf("db random: %v\n%s", err, out)
		}
		if !strings.Contains(out, "100 posts") {
			t.Errorf("db random said %q, want 100 posts added", out)
		}
		if n := countFiles(t, uploads); n != 108 {
			t.Errorf("after db random: %d images, want 108", n)
		}
		out, err = dbTool(t, opts, uploads, "random", "--users", "20", "--posts", "500", "--images", "3",
			"--follows", "50", "--likes", "1000", "--comments", "200", "--seed", "8")
		if err != nil || !strings.Contains(out, "added 20 users, 500 posts") || !strings.Contains(out, "1000 likes, 200 comments") {
			t.Fatalf("bulk db random: %v\n%s", err, out)
		}
		s, err := dbadmin.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.PostExists(ctx, 604); !ok {
			t.Errorf("post 604 missing after adding 600 posts")
		}
		s.Close()

		if out, err := dbTool(t, opts, uploads, "reset"); err != nil {
			t.Fatalf("db reset: %v\n%s", err, out)
		}
		if n := countFiles(t, uploads); n != 8 {
			t.Errorf("after db reset: %d images, want 8", n)
		}
		if out, _ := dbTool(t, opts, uploads, "dump"); strings.Contains(out, "(604 rows)") || !strings.Contains(out, "(4 rows)") {
			t.Errorf("db reset did not start over:\n%s", out)
		}

		if out, err := dbTool(t, opts, uploads, "destroy"); err != nil {
			t.Fatalf("db destroy: %v\n%s", err, out)
		}
		if ok, err := dbadmin.Exists(ctx, opts); ok || err != nil {
			t.Errorf("after destroy Exists = %v, %v", ok, err)
		}
		if _, err := os.Stat(uploads); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("uploads survive destroy: %v", err)
		}
		if _, err := dbTool(t, opts, uploads, "dump"); !errors.Is(err, storage.ErrNoSchema) && !strings.Contains(fmt.Sprint(err), "does not exist") {
			t.Errorf("dump of a destroyed database = %v, want a clear error", err)
		}
	})
}

func TestDBResetRepairsACorruptSQLiteFile(t *testing.T) {
	opts := testenv.NewDatabase(t, "sqlite")
	uploads := filepath.Join(t.TempDir(), "uploads")
	if err := os.WriteFile(opts.DSN, bytes.Repeat([]byte("garbage!"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dbTool(t, opts, uploads, "dump"); err == nil || !strings.Contains(err.Error(), "db reset") {
		t.Errorf("dump of a corrupt file = %v, want advice to run db reset", err)
	}
	if out, err := dbTool(t, opts, uploads, "reset"); err != nil {
		t.Fatalf("db reset over a corrupt file: %v\n%s", err, out)
	}
	if out, err := dbTool(t, opts, uploads, "dump"); err != nil || !strings.Contains(out, "awdeorio") {
		t.Errorf("after reset dump = %v\n%s", err, out)
	}
}

func TestBadCommandLinesExitOneWithUsage(t *testing.T) {
	cases := [][]string{
		{},
		{"bogus"},
		{"db"},
		{"db", "bogus"},
		{"db", "create", "extra"},
		{"db", "random", "--posts", "many"},
		{"db", "random", "--posts", "-5", "--database", filepath.Join(t.TempDir(), "x.sqlite3")},
		{"serve", "extra"},
		{"serve", "--max-upload-bytes", "0"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), args, &out, &errOut)
			if err == nil || exitCode(err) != 1 {
				t.Errorf("run(%q) = %v (exit %d), want an error and exit 1", args, err, exitCode(err))
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"db", "create", "--help"}, {"db", "random", "-h"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		if exitCode(err) != 0 || out.Len()+errOut.Len() == 0 {
			t.Errorf("run(%q) = %v with no help text", args, err)
		}
	}
}

func TestClassicDBWrapperRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{{}, {"bogus"}, {"create", "extra"}, {"backup"}, {"restore"}} {
		cmd := exec.Command("../../bin/insta485db", args...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "Usage:") {
			t.Errorf("insta485db %q = %v, %q; want usage and exit 1", args, err, out)
		}
	}
}

// TestServeCreatesTheEmbeddedDatabaseAndStopsGracefully runs the real
// `insta485 serve` on a fresh SQLite path: it must create the database with
// the sample data, answer, and stop when told to.
func TestServeCreatesTheEmbeddedDatabaseAndStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr,
			"--database", filepath.Join(dir, "var", "insta485.sqlite3"),
			"--uploads", filepath.Join(dir, "var", "uploads"),
			"--secret-key-file", filepath.Join(dir, "var", "secret_key")}, &logs, &logs)
	}()
	var resp *http.Response
	for range 100 {
		resp, err = http.Get("http://" + addr + "/readyz")
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		cancel()
		t.Fatalf("server never answered: %v\n%s", err, logs.String())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz = %d", resp.StatusCode)
	}
	if n := countFiles(t, filepath.Join(dir, "var", "uploads")); n != 8 {
		t.Errorf("first start wrote %d sample images, want 8", n)
	}
	if st, err := os.Stat(filepath.Join(dir, "var", "secret_key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secret key file: %v, %v; want mode 0600", st, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestFailedCreateLeavesNothingBehind: when `db create` fails part way (here
// the sample images cannot be written), the next `db create` must start
// over instead of claiming the half-made database already exists.
func TestFailedCreateLeavesNothingBehind(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		opts := testenv.NewDatabase(t, backend)
		uploads := filepath.Join(t.TempDir(), "uploads")
		profiles, _ := dbadmin.SampleImages()
		block := filepath.Join(uploads, profiles[0])
		if err := os.MkdirAll(filepath.Join(block, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := dbTool(t, opts, uploads, "create"); err == nil {
			t.Fatalf("db create with an unwritable image succeeded:\n%s", out)
		}
		if ok, err := dbadmin.Exists(context.Background(), opts); ok || err != nil {
			t.Errorf("after a failed create Exists = %v, %v; want false, nil", ok, err)
		}
		if err := os.RemoveAll(block); err != nil {
			t.Fatal(err)
		}
		if out, err := dbTool(t, opts, uploads, "create"); err != nil {
			t.Fatalf("db create after fixing the cause = %v\n%s", err, out)
		}
		if n := countFiles(t, uploads); n != 8 {
			t.Errorf("db create wrote %d images, want 8", n)
		}
	})
}

// failingStore is a media store whose Put fails after ok successful ones.
type failingStore struct {
	*blob.Local
	ok int
}

func (f *failingStore) Put(ctx context.Context, name string, r io.Reader) error {
	if f.ok == 0 {
		return errors.New("disk full")
	}
	f.ok--
	return f.Local.Put(ctx, name, r)
}

// TestFailedRandomLeavesNoImages: when `db random` cannot write all its
// images, the ones it did write go again (and no rows are added).
func TestFailedRandomLeavesNoImages(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		local, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = random(context.Background(), s, &failingStore{local, 5}, dbadmin.Bulk{Posts: 10, Users: 2}, 10, &out)
		if err == nil {
			t.Fatal("db random with a failing upload store succeeded")
		}
		// Nothing at all: no upload and no width variant.
		if entries, _ := os.ReadDir(local.Dir); len(entries) != 0 {
			t.Errorf("a failed db random left %d files behind", len(entries))
		}
	})
}

// TestDestroyRemovesOnlyUploads: `db destroy` removes the uploaded images,
// not whatever else sits in the directory --uploads names (a mistyped
// --uploads . would otherwise empty the working directory).
func TestDestroyRemovesOnlyUploads(t *testing.T) {
	opts := testenv.NewDatabase(t, "sqlite")
	dir := t.TempDir()
	keep := []string{"README.md", ".gitkeep", filepath.Join("src", "main.go")}
	for _, f := range keep {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := dbTool(t, opts, dir, "create"); err != nil {
		t.Fatalf("db create: %v\n%s", err, out)
	}
	if out, err := dbTool(t, opts, dir, "destroy"); err != nil {
		t.Fatalf("db destroy: %v\n%s", err, out)
	}
	for _, f := range keep {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("db destroy removed %s, which is not an upload: %v", f, err)
		}
	}
	if n := countFiles(t, dir); n != 3 {
		t.Errorf("after destroy the directory holds %d entries, want the 3 that are not uploads", n)
	}
}

// TestMigrateListsUnsafeUsernames: db migrate names the accounts whose
// names are not safe in links (an older database may hold them), and only
// those, and still succeeds.
func TestMigrateListsUnsafeUsernames(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		opts := testenv.NewDatabase(t, backend)
		if err := dbadmin.Create(ctx, opts); err != nil {
			t.Fatal(err)
		}
		s, err := dbadmin.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{".", "..", "a/b", `c\d`, "a..b"} {
			if err := s.CreateUser(ctx, storage.User{Username: name, Fullname: "x", Email: "x", Filename: "x.jpg", Password: "x"}); err != nil {
				t.Fatalf("create %q: %v", name, err)
			}
		}
		s.Close()
		out, err := dbTool(t, opts, t.TempDir(), "migrate")
		if err != nil {
			t.Fatalf("db migrate: %v\n%s", err, out)
		}
		for _, want := range []string{`"."`, `".."`, `"a/b"`, `"c\\d"`} {
			if !strings.Contains(out, want) {
				t.Errorf("db migrate does not name %s:\n%s", want, out)
			}
		}
		for _, safe := range []string{"a..b", "awdeorio"} {
			if strings.Contains(out, safe) {
				t.Errorf("db migrate names %s, a safe name:\n%s", safe, out)
			}
		}
	})
}
