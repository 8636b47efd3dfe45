package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/testenv"
)

// uploadsTool runs `insta485 uploads args…`.
func uploadsTool(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"uploads"}, args...), &out, &errOut)
	return out.String() + errOut.String(), err
}

// objects lists the uploads under the server's store prefix (not their
// width variants, which come and go with them).
func objects(t *testing.T, srv *testenv.S3Server) []string {
	t.Helper()
	var out []string
	for _, k := range srv.Keys(t) {
		name := strings.TrimPrefix(k, "site/uploads/")
		if _, w := blob.MainName(name); blob.ValidName(name) && w == 0 {
			out = append(out, k)
		}
	}
	return out
}

// TestDBToolOnS3 runs the db commands with the uploads in a bucket of a
// real S3 server, configured the way an operator does: --uploads
// s3://BUCKET/PREFIX and the AWS_* variables. Not parallel: the commands
// read the process environment.
func TestDBToolOnS3(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		srv := testenv.StartS3(t)
		srv.SetEnv(t)
		opts := testenv.NewDatabase(t, backend)
		if out, err := dbTool(t, opts, srv.Spec, "create"); err != nil {
			t.Fatalf("db create: %v\n%s", err, out)
		}
		if n := len(objects(t, srv)); n != 8 {
			t.Errorf("db create stored %d sample images in the bucket, want 8", n)
		}
		if out, err := dbTool(t, opts, srv.Spec, "random", "--posts", "5", "--images", "3", "--seed", "1"); err != nil {
			t.Fatalf("db random: %v\n%s", err, out)
		}
		if n := len(objects(t, srv)); n != 11 {
			t.Errorf("after db random the bucket holds %d uploads, want 11", n)
		}
		if out, err := dbTool(t, opts, srv.Spec, "reset"); err != nil {
			t.Fatalf("db reset: %v\n%s", err, out)
		}
		if n := len(objects(t, srv)); n != 8 {
			t.Errorf("after db reset the bucket holds %d uploads, want the 8 samples", n)
		}
		if out, err := dbTool(t, opts, srv.Spec, "destroy"); err != nil {
			t.Fatalf("db destroy: %v\n%s", err, out)
		}
		if keys := srv.Keys(t); len(keys) != 0 {
			t.Errorf("db destroy left %v in the bucket", keys)
		}
		// A bucket that is not there is named, before anything is done.
		out, err := dbTool(t, opts, "s3://no-such-bucket", "create")
		if err == nil || !strings.Contains(err.Error(), "no-such-bucket") || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("db create into a missing bucket: %v\n%s", err, out)
		}
		if ok, _ := dbadmin.Exists(context.Background(), opts); ok {
			t.Error("db create made the database although the upload store was missing")
		}
	})
}

// TestUploadsCopyIntoS3 moves a site's uploads from its directory into a
// bucket: every file arrives intact, a second run copies nothing, the
// source stays, and mistakes in the command are named.
func TestUploadsCopyIntoS3(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.SetEnv(t)
	opts := testenv.NewDatabase(t, "sqlite")
	dir := filepath.Join(t.TempDir(), "uploads")
	if out, err := dbTool(t, opts, dir, "create"); err != nil {
		t.Fatalf("db create: %v\n%s", err, out)
	}
	// Not an upload: stays behind, as the site never serves it.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := uploadsTool("copy", "--from", dir, "--uploads", srv.Spec)
	// The 8 sample pictures, each with its two width variants.
	if err != nil || !strings.Contains(out, "copied 24 file(s), skipped 0") {
		t.Fatalf("uploads copy: %v\n%s", err, out)
	}
	ctx := context.Background()
	src, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	dst := srv.Open(t)
	names, err := blob.Names(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := blob.Names(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	slices.Sort(copied)
	if len(names) != 24 || !slices.Equal(names, copied) {
		t.Fatalf("bucket holds %v, want the directory's %v", copied, names)
	}
	for _, n := range names {
		if a, b := content(t, src, n), content(t, dst, n); !bytes.Equal(a, b) {
			t.Errorf("%s: %d bytes in the bucket, %d in the directory", n, len(b), len(a))
		}
	}
	out, err = uploadsTool("copy", "--from", dir, "--uploads", srv.Spec)
	if err != nil || !strings.Contains(out, "copied 0 file(s), skipped 24") {
		t.Errorf("second uploads copy: %v\n%s", err, out)
	}
	if slices.ContainsFunc(srv.Keys(t), func(k string) bool { return strings.Contains(k, "notes") }) {
		t.Error("a file that is not an upload was copied")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"copy", "--uploads", srv.Spec}, "needs --from"},
		{[]string{"copy", "--from", filepath.Join(dir, "missing"), "--uploads", srv.Spec}, "not a directory"},
		{[]string{"copy", "--from", srv.Spec, "--uploads", srv.Spec}, "both name"},
		{[]string{"copy", "--from", "s3://no-such-bucket", "--uploads", srv.Spec}, "does not exist"},
		{[]string{"move"}, "unknown uploads command"},
	} {
		if out, err := uploadsTool(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("uploads %v: %v, want an error saying %q\n%s", tc.args, err, tc.want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Error("a mistyped --from directory was created")
	}
}

func content(t *testing.T, st blob.Store, name string) []byte {
	t.Helper()
	f, err := st.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestServeOnS3 starts the real `insta485 serve` with its uploads in a
// bucket: the first start writes the sample images there, and a bucket
// that does not exist stops it at once with a message naming it.
func TestServeOnS3(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.SetEnv(t)
	dir := t.TempDir()
	args := func(addr, uploads string) []string {
		return []string{"serve", "--addr", addr,
			"--database", filepath.Join(dir, "insta485.sqlite3"),
			"--uploads", uploads,
			"--secret-key-file", filepath.Join(dir, "secret_key")}
	}
	var logs bytes.Buffer
	err := run(context.Background(), args("127.0.0.1:0", "s3://no-such-bucket"), &logs, &logs)
	if err == nil || !strings.Contains(err.Error(), "no-such-bucket does not exist") {
		t.Errorf("serve with a missing bucket: %v\n%s", err, logs.String())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, args(addr, srv.Spec), io.Discard, io.Discard) }()
	var resp *http.Response
	for range 100 {
		resp, err = http.Get("http://" + addr + "/readyz")
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server never answered: %v", err)
	}
	resp.Body.Close()
	if n := len(objects(t, srv)); n != 8 {
		t.Errorf("first start wrote %d sample images to the bucket, want 8", n)
	}
	// Pictures keep their access rule: a visitor gets 403.
	resp, err = http.Get("http://" + addr + "/uploads/e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("visitor fetching a picture: %d, want 403", resp.StatusCode)
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
