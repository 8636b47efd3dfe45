package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/insta485/insta485/internal/testenv"
)

// forEachStore runs fn on an empty local directory store and on an empty
// store in a bucket of a real S3 server (versitygw), under a key prefix.
// s3 is the server, nil for the local store.
func forEachStore(t *testing.T, fn func(t *testing.T, st blob.Store, s3 *testenv.S3Server)) {
	t.Run("local", func(t *testing.T) {
		t.Parallel()
		st, err := blob.Open(context.Background(), t.TempDir()+"/uploads")
		if err != nil {
			t.Fatal(err)
		}
		fn(t, st, nil)
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartS3(t)
		fn(t, srv.Open(t), srv)
	})
}

func names(t *testing.T, st blob.Store) []string {
	t.Helper()
	n, err := blob.Names(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(n)
	return n
}

// TestStoreConformance checks the Store contract on every implementation.
func TestStoreConformance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := blob.NewName(".png")
	b := blob.NewName(".jpg")
	content := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	forEachStore(t, func(t *testing.T, st blob.Store, _ *testenv.S3Server) {
		if got := names(t, st); len(got) != 0 {
			t.Fatalf("new store lists %v", got)
		}
		if _, err := st.Open(ctx, a); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Open of a missing file: %v, want ErrNotFound", err)
		}
		for _, bad := range []string{"../etc/passwd", "x.png", "", a + "/x", strings.ToUpper(a)} {
			if err := st.Put(ctx, bad, strings.NewReader("x")); err == nil {
				t.Errorf("Put(%q) accepted a name that is not an upload's", bad)
			}
			if _, err := st.Open(ctx, bad); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("Open(%q): %v, want ErrNotFound", bad, err)
			}
		}
		// An io.Reader of unknown length, as an upload arrives.
		if err := st.Put(ctx, a, io.MultiReader(bytes.NewReader(content[:1000]), bytes.NewReader(content[1000:]))); err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, b, bytes.NewReader([]byte("small"))); err != nil {
			t.Fatal(err)
		}
		if got, want := names(t, st), []string{a, b}; !slices.Equal(got, want) {
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("List: %v, want %v", got, want)
			}
		}
		f, err := st.Open(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(f)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("read back %d bytes (%v), want the %d written", len(got), err, len(content))
		}
		if f.ModTime().IsZero() || time.Since(f.ModTime()) > time.Hour || f.ETag() == "" {
			t.Errorf("ModTime %v, ETag %q: want the time of the write and a validator", f.ModTime(), f.ETag())
		}
		// A range, the way http.ServeContent asks for one.
		if _, err := f.Seek(40000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		part := make([]byte, 100)
		if _, err := io.ReadFull(f, part); err != nil || !bytes.Equal(part, content[40000:40100]) {
			t.Fatalf("range read: %q (%v), want %q", part, err, content[40000:40100])
		}
		if n, err := f.Seek(0, io.SeekEnd); err != nil || n != int64(len(content)) {
			t.Fatalf("size by Seek: %d (%v), want %d", n, err, len(content))
		}
		f.Close()
		// Overwriting replaces the content whole.
		if err := st.Put(ctx, a, strings.NewReader("new")); err != nil {
			t.Fatal(err)
		}
		if got := read(t, st, a); got != "new" {
			t.Errorf("after overwrite: %q", got)
		}
		if err := st.Delete(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, a); err != nil {
			t.Errorf("deleting what is gone: %v", err)
		}
		if _, err := st.Open(ctx, a); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open after Delete: %v", err)
		}
		if got := names(t, st); !slices.Equal(got, []string{b}) {
			t.Errorf("List after Delete: %v, want [%s]", got, b)
		}
		if err := st.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		if got := names(t, st); len(got) != 0 {
			t.Errorf("List after Clear: %v", got)
		}
	})
}

func read(t *testing.T, st blob.Store, name string) string {
	t.Helper()
	f, err := st.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestS3PrefixesAreSeparate checks that stores under different prefixes of
// one bucket see only their own uploads, and that Clear leaves other
// objects (a shared bucket) alone.
func TestS3PrefixesAreSeparate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testenv.StartS3(t)
	site := srv.Open(t)
	other := srv.Open(t, "s3://"+srv.Bucket+"/other")
	root := srv.Open(t, "s3://"+srv.Bucket)
	mine, theirs := blob.NewName(".jpg"), blob.NewName(".jpg")
	if err := site.Put(ctx, mine, strings.NewReader("mine")); err != nil {
		t.Fatal(err)
	}
	if err := other.Put(ctx, theirs, strings.NewReader("theirs")); err != nil {
		t.Fatal(err)
	}
	if got := names(t, site); !slices.Equal(got, []string{mine}) {
		t.Errorf("site lists %v, want only [%s]", got, mine)
	}
	if got := names(t, root); len(got) != 0 {
		t.Errorf("the bucket's top level lists %v: uploads under prefixes leaked", got)
	}
	if _, err := site.Open(ctx, theirs); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("site opens another prefix's upload: %v", err)
	}
	if err := site.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if got := read(t, other, theirs); got != "theirs" {
		t.Errorf("Clear of one prefix touched another: %q", got)
	}
	want := []string{"other/" + theirs}
	if got := srv.Keys(t); !slices.Equal(got, want) {
		t.Errorf("bucket holds %v, want %v", got, want)
	}
}

// TestS3Unavailable checks that a store that goes down answers
// ErrUnavailable, which the web layer turns into 503, and that Open
// refuses at once a bucket that does not exist or wrong keys.
func TestS3Unavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testenv.StartS3(t)
	st := srv.Open(t)
	name := blob.NewName(".png")
	if err := st.Put(ctx, name, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}

	env := srv.Env()
	env["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-key"
	_, err := blob.OpenEnv(ctx, srv.Spec, func(k string) string { return env[k] })
	if err == nil || errors.Is(err, blob.ErrUnavailable) || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") || strings.Contains(err.Error(), "wrong-secret-key") {
		t.Errorf("wrong secret key: %v; want an error naming the setting, not its value", err)
	}
	_, err = blob.OpenEnv(ctx, "s3://no-such-bucket-here", srv.Getenv)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing bucket: %v", err)
	}
	if _, err := blob.OpenEnv(ctx, "s3://Bad_Bucket!", srv.Getenv); err == nil || !strings.Contains(err.Error(), "bucket name") {
		t.Errorf("bad bucket name: %v", err)
	}

	// A caller that gave up is not an outage.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.Open(cancelled, name); !errors.Is(err, context.Canceled) || errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("Open with a cancelled context: %v, want context.Canceled and not ErrUnavailable", err)
	}

	srv.Stop()
	if _, err := st.Open(ctx, name); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("Open with the server down: %v, want ErrUnavailable", err)
	}
	if err := st.Put(ctx, blob.NewName(".png"), strings.NewReader("x")); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("Put with the server down: %v, want ErrUnavailable", err)
	}
	if err := st.Delete(ctx, name); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("Delete with the server down: %v, want ErrUnavailable", err)
	}
	if _, err := blob.OpenEnv(ctx, srv.Spec, srv.Getenv); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("opening a store whose server is down: %v, want ErrUnavailable", err)
	}
}

// TestCopyBetweenStores copies out of a bucket (into another prefix and
// into a directory) and into one: Copy reads S3 objects as seekable files
// and S3 Put takes them without spooling.
func TestCopyBetweenStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testenv.StartS3(t)
	bucket := srv.Open(t)
	other := srv.Open(t, "s3://"+srv.Bucket+"/copy")
	dir, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := range 5 {
		name := blob.NewName(".jpg")
		want[name] = strings.Repeat(name, 1000*(i+1))
		if err := bucket.Put(ctx, name, strings.NewReader(want[name])); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		what     string
		dst, src blob.Store
	}{{"s3 to s3", other, bucket}, {"s3 to directory", dir, bucket}, {"directory to s3", srv.Open(t, "s3://"+srv.Bucket+"/back"), dir}} {
		list := names(t, tc.src)
		rep, err := blob.Copy(ctx, tc.dst, tc.src, list, nil)
		if err != nil || rep.Copied != len(want) || len(rep.Missing) != 0 {
			t.Fatalf("%s: %+v, %v", tc.what, rep, err)
		}
		for name, body := range want {
			if got := read(t, tc.dst, name); got != body {
				t.Errorf("%s: %s has %d bytes, want %d", tc.what, name, len(got), len(body))
			}
		}
		if rep, err := blob.Copy(ctx, tc.dst, tc.src, list, nil); err != nil || rep.Skipped != len(want) {
			t.Errorf("%s again: %+v, %v; want all skipped", tc.what, rep, err)
		}
	}
}

// TestOpenRejectsOtherSchemes: an address of another kind of store is
// refused, not taken for a directory named "gs:".
func TestOpenRejectsOtherSchemes(t *testing.T) {
	for _, spec := range []string{"gs://bucket", "https://bucket.s3.amazonaws.com", "s3a://bucket/x"} {
		if _, err := blob.Open(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "s3://BUCKET") {
			t.Errorf("Open(%q): %v, want an error pointing at s3://BUCKET", spec, err)
		}
	}
	if _, err := blob.Open(context.Background(), t.TempDir()+"/a/b"); err != nil {
		t.Errorf("a plain directory: %v", err)
	}
}

// TestS3KeysFromCredentialFiles: without keys in the environment, the AWS
// credential files sign in: ~/.aws/credentials' default profile, or the
// profile AWS_PROFILE names in the file AWS_SHARED_CREDENTIALS_FILE names.
// Not parallel: it sets HOME.
func TestS3KeysFromCredentialFiles(t *testing.T) {
	srv := testenv.StartS3(t)
	home := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", home)
	profile := func(name, access, secret string) string {
		return "[" + name + "]\naws_access_key_id = " + access + "\naws_secret_access_key = " + secret + "\n"
	}
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte(profile("default", srv.AccessKey, srv.SecretKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(other, []byte(profile("default", "nobody", "wrong-secret")+profile("insta485", srv.AccessKey, srv.SecretKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		m := map[string]string{"AWS_ENDPOINT_URL_S3": srv.Endpoint, "AWS_REGION": srv.Region}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	ctx := context.Background()
	for _, tc := range []struct {
		what   string
		getenv func(string) string
		ok     bool
	}{
		{"~/.aws/credentials, default profile", env(), true},
		{"AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE", env("AWS_SHARED_CREDENTIALS_FILE", other, "AWS_PROFILE", "insta485"), true},
		{"AWS_SHARED_CREDENTIALS_FILE, default profile (wrong keys)", env("AWS_SHARED_CREDENTIALS_FILE", other), false},
	} {
		st, err := blob.OpenEnv(ctx, srv.Spec, tc.getenv)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want success %v", tc.what, err, tc.ok)
			continue
		}
		if err == nil {
			if err := st.Put(ctx, blob.NewName(".png"), strings.NewReader("x")); err != nil {
				t.Errorf("%s: Put: %v", tc.what, err)
			}
		}
	}
}
