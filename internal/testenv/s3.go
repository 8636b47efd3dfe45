package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Server is a bucket on a real S3 server for tests: versitygw serving a
// temporary directory (its posix backend) on a free local port, with
// generated keys.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string
	// Spec is the --uploads value of a store in the bucket, under a key
	// prefix so that the store's prefix handling is exercised too.
	Spec string

	proc   *s3Process
	shared bool
}

// s3Process is one running versitygw.
type s3Process struct {
	endpoint, access, secret, region string
	root                             string
	cmd                              *exec.Cmd
	done                             chan struct{}
	stopOnce                         sync.Once
}

// VersityGW returns the path of the versitygw binary: $INSTA485_VERSITYGW,
// else versitygw on PATH, else the one .ci/run builds into
// ${XDG_CACHE_HOME:-$HOME/.cache}/insta485/bin. Without one the test is
// skipped, except under CI, where it fails.
func VersityGW(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("INSTA485_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("INSTA485_VERSITYGW=%s: %v", p, err)
		}
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache")
		}
	}
	p := filepath.Join(cache, "insta485", "bin", "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	const hint = "versitygw not found (set INSTA485_VERSITYGW, or: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)"
	if os.Getenv("CI") != "" {
		t.Fatal(hint + "; it is required under CI")
	}
	t.Skip(hint)
	return ""
}

// StartS3 starts an S3 server of the test's own with an empty bucket,
// stopped when t ends: for tests that stop it (S3Server.Stop).
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	p, err := startS3Process(VersityGW(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return newBucket(t, p, false)
}

// shared is the server NewS3Bucket hands out buckets on, started for the
// first test that asks and stopped when the last one using it ends.
var shared struct {
	sync.Mutex
	proc  *s3Process
	users int
}

// NewS3Bucket returns a new empty bucket on an S3 server shared by the
// tests of this process: many apps cost one server. Stop is not allowed.
func NewS3Bucket(t testing.TB) *S3Server {
	t.Helper()
	bin := VersityGW(t)
	shared.Lock()
	if shared.proc == nil {
		p, err := startS3Process(bin)
		if err != nil {
			shared.Unlock()
			t.Fatal(err)
		}
		shared.proc = p
	}
	shared.users++
	p := shared.proc
	shared.Unlock()
	t.Cleanup(func() {
		shared.Lock()
		defer shared.Unlock()
		if shared.users--; shared.users == 0 {
			shared.proc.stop()
			shared.proc = nil
		}
	})
	return newBucket(t, p, true)
}

func startS3Process(bin string) (*s3Process, error) {
	root, err := os.MkdirTemp("", "insta485-s3-*")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &s3Process{
		endpoint: "http://" + addr,
		access:   RandomName("AK"),
		secret:   RandomName("secret-") + RandomName(""),
		region:   "us-east-1",
		root:     root,
		done:     make(chan struct{}),
	}
	p.cmd = exec.Command(bin, "--port", addr, "--region", p.region, "--quiet", "posix", root)
	// The keys go by environment, not the command line, where ps shows them.
	p.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+p.access, "ROOT_SECRET_ACCESS_KEY="+p.secret)
	out := &LockedBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.endpoint + "/")
		if err == nil {
			res.Body.Close()
			return p, nil
		}
		select {
		case <-p.done:
			p.stop()
			return nil, fmt.Errorf("versitygw exited at start: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("versitygw did not answer on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *s3Process) stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		os.RemoveAll(p.root)
	})
}

// newBucket creates an empty bucket on p.
func newBucket(t testing.TB, p *s3Process, shared bool) *S3Server {
	t.Helper()
	s := &S3Server{
		Endpoint: p.endpoint, Region: p.region, AccessKey: p.access, SecretKey: p.secret,
		Bucket: RandomName("insta485-"), proc: p, shared: shared,
	}
	s.Spec = "s3://" + s.Bucket + "/site/uploads"
	if err := s.client(t).MakeBucket(context.Background(), s.Bucket, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("create bucket %s: %v", s.Bucket, err)
	}
	return s
}

// client is a plain S3 client on the server, for looking behind the
// store's back.
func (s *S3Server) client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(s.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Stop stops the server, for tests of a store that goes down. Only for a
// server of the test's own (StartS3); its cleanup stops it anyway.
func (s *S3Server) Stop() {
	if s.shared {
		panic("testenv: Stop on a shared S3 server; use StartS3 for one of your own")
	}
	s.proc.stop()
}

// LockedBuffer collects a process's output while a test reads it.
type LockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Env is the AWS settings that point insta485 at the server.
func (s *S3Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_S3":   s.Endpoint,
		"AWS_REGION":            s.Region,
		"AWS_ACCESS_KEY_ID":     s.AccessKey,
		"AWS_SECRET_ACCESS_KEY": s.SecretKey,
	}
}

// Getenv looks up name in Env, for blob.OpenEnv.
func (s *S3Server) Getenv(name string) string { return s.Env()[name] }

// SetEnv sets Env in the process environment for the rest of t (so t and
// its parents may not be parallel): for tests of the commands, which read
// the real environment.
func (s *S3Server) SetEnv(t testing.TB) {
	t.Helper()
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
}

// Open opens the store s.Spec names, or one at spec when given (another
// prefix of the same bucket).
func (s *S3Server) Open(t testing.TB, spec ...string) blob.Store {
	t.Helper()
	sp := s.Spec
	if len(spec) > 0 {
		sp = spec[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := blob.OpenEnv(ctx, sp, s.Getenv)
	if err != nil {
		t.Fatalf("open %s: %v", sp, err)
	}
	return st
}

// freeAddr returns a local address no one listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// UploadStores are the upload stores the upload tests run against.
var UploadStores = []string{"local", "s3"}

// ForEachBackendAndStore runs fn as one subtest per storage backend and
// upload store: the matrix for tests of what touches uploaded files.
func ForEachBackendAndStore(t *testing.T, fn func(t *testing.T, backend, store string)) {
	t.Helper()
	ForEachBackend(t, func(t *testing.T, backend string) {
		for _, st := range UploadStores {
			t.Run(st, func(t *testing.T) { fn(t, backend, st) })
		}
	})
}

// WithUploadStore picks the App's upload store: "local" (a temporary
// directory, the default) or "s3" (a new bucket on the shared S3 server,
// NewS3Bucket, reachable as App.S3).
func WithUploadStore(kind string) AppOption {
	return func(c *appConfig) { c.store = kind }
}

// WithS3 puts the App's uploads on srv (at srv.Spec), for tests that share
// one server or stop it.
func WithS3(srv *S3Server) AppOption {
	return func(c *appConfig) { c.store, c.s3 = "s3", srv }
}

func newUploadStore(t testing.TB, c *appConfig) (blob.Store, string, *S3Server) {
	t.Helper()
	switch c.store {
	case "", "local":
		dir := filepath.Join(t.TempDir(), "uploads")
		st, err := blob.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st, dir, nil
	case "s3":
		srv := c.s3
		if srv == nil {
			srv = NewS3Bucket(t)
		}
		return srv.Open(t), "", srv
	}
	panic(fmt.Sprintf("testenv: unknown upload store %q (want local or s3)", c.store))
}

// Keys lists every object key in the bucket and every multipart upload
// left unfinished (as "(incomplete) KEY"), whatever their names: what a
// failed request must not leave behind.
func (s *S3Server) Keys(t testing.TB) []string {
	t.Helper()
	c := s.client(t)
	ctx := context.Background()
	var keys []string
	for o := range c.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list bucket %s: %v", s.Bucket, o.Err)
		}
		keys = append(keys, o.Key)
	}
	for u := range c.ListIncompleteUploads(ctx, s.Bucket, "", true) {
		if u.Err != nil {
			t.Fatalf("list incomplete uploads of %s: %v", s.Bucket, u.Err)
		}
		keys = append(keys, "(incomplete) "+u.Key)
	}
	return keys
}
