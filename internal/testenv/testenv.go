// Package testenv builds what insta485's tests run against: a fresh
// database on each backend (on PostgreSQL a new database per test, created
// and dropped here) and a whole running insta485 in one call.
//
// PostgreSQL tests use the server named by INSTA485_TEST_POSTGRES (a URL
// whose role may create databases and roles; default the local server as
// postgres). When it cannot be reached they are skipped, except under CI
// (CI set), where that fails the run.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/blob"

	"github.com/jackc/pgx/v5"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/metrics"
	"github.com/insta485/insta485/internal/storage"
)

// Backends are the storage backends every storage and HTTP test runs on.
var Backends = []string{"sqlite", "postgres"}

// ForEachBackend runs fn as one subtest per backend.
func ForEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	t.Helper()
	for _, b := range Backends {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

// PostgresAdminURL is the URL tests create their databases through.
func PostgresAdminURL() string {
	if u := os.Getenv("INSTA485_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// AdminConn connects to the PostgreSQL test server as its admin role, or
// skips (fails under CI) when there is none.
func AdminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, PostgresAdminURL())
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required under CI but unreachable at INSTA485_TEST_POSTGRES: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (set INSTA485_TEST_POSTGRES): %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// RandomName returns prefix followed by random lowercase hex.
func RandomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// NewDatabase returns the options for a fresh, empty database on backend,
// removed when t ends.
func NewDatabase(t testing.TB, backend string) storage.Options {
	t.Helper()
	switch backend {
	case "sqlite":
		return storage.Options{DSN: filepath.Join(t.TempDir(), "insta485.sqlite3")}
	case "postgres":
		admin := AdminConn(t)
		name := RandomName("insta485_test_")
		if _, err := admin.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create test database: %v", err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("drop test database %s: %v", name, err)
			}
		})
		return storage.Options{DSN: WithDatabase(PostgresAdminURL(), name)}
	case "postgres+replica":
		if replicaPair == nil {
			t.Fatal(`backend "postgres+replica" needs testenv.UseReplicaBackend first`)
		}
		return replicaPair.NewDatabase(t)
	}
	t.Fatalf("unknown backend %q", backend)
	return storage.Options{}
}

// WithDatabase returns the PostgreSQL URL u pointing at database name.
func WithDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	p.Path = "/" + name
	return p.String()
}

// NewStore returns an open store on a fresh database of backend holding the
// schema and the sample data, closed when t ends.
func NewStore(t testing.TB, backend string) *storage.Store {
	t.Helper()
	opts := NewDatabase(t, backend)
	return OpenCreated(t, opts)
}

// OpenCreated creates the schema and the sample data in the (empty)
// database opts names and returns a store open on it, closed when t ends.
func OpenCreated(t testing.TB, opts storage.Options) *storage.Store {
	t.Helper()
	ctx := context.Background()
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatalf("create database: %v", err)
	}
	s, err := dbadmin.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// App is a whole running insta485 on a fresh database with the sample data
// and sample images.
type App struct {
	*httptest.Server
	Store *storage.Store
	Media blob.Store
	// UploadDir is the local upload directory; "" when the uploads are in
	// object storage (S3 is then the server).
	UploadDir string
	S3        *S3Server
	Secret    []byte
	Options   storage.Options
}

type appConfig struct {
	opts  *storage.Options
	deps  app.Deps
	wrap  []func(http.Handler) http.Handler
	store string
	s3    *S3Server
	// delivery and urlTTL are WithDelivery's.
	delivery string
	urlTTL   time.Duration
}

// AppOption adjusts an App before it starts.
type AppOption func(*appConfig)

// WithMaxUpload sets the upload size limit.
func WithMaxUpload(n int64) AppOption { return func(c *appConfig) { c.deps.MaxUpload = n } }

// WithMetrics records the app's metrics in m.
func WithMetrics(m *metrics.Metrics) AppOption { return func(c *appConfig) { c.deps.Metrics = m } }

// OnDatabase runs the app on opts (a database that exists and is empty,
// such as ReplicaPair.NewDatabase gives) instead of a fresh one of backend.
func OnDatabase(opts storage.Options) AppOption {
	return func(c *appConfig) { c.opts = &opts }
}

// WithMiddleware wraps the whole application, outermost last: for tests
// that count or delay requests on the server side.
func WithMiddleware(mw func(http.Handler) http.Handler) AppOption {
	return func(c *appConfig) { c.wrap = append(c.wrap, mw) }
}

// TestArgonWait is how long a test app's logins wait for a password check
// slot.
const TestArgonWait = 2 * time.Minute

// WithDeps adjusts the application's dependencies (trusted proxies, the
// login throttle…) before it starts.
func WithDeps(fn func(*app.Deps)) AppOption { return func(c *appConfig) { fn(&c.deps) } }

// NewAppOn is NewApp on the empty database opts names (one on a
// throw-away Cluster, say), which it creates.
func NewAppOn(t testing.TB, opts storage.Options, options ...AppOption) *App {
	t.Helper()
	return NewApp(t, "", append(options, OnDatabase(opts))...)
}

// NewApp starts insta485 on backend, stopped when t ends. Logs are
// discarded unless INSTA485_TEST_LOG is set. Uploads go to a temporary
// directory unless an option (WithUploadStore, WithS3) says otherwise.
func NewApp(t testing.TB, backend string, options ...AppOption) *App {
	t.Helper()
	logOut := io.Discard
	if os.Getenv("INSTA485_TEST_LOG") != "" {
		logOut = os.Stderr
	}
	secret := []byte(RandomName("test-secret-0123456789abcdef0123456789-"))
	cfg := appConfig{deps: app.Deps{
		Secret: secret, MaxUpload: 16 << 20,
		Log: slog.New(slog.NewTextHandler(logOut, nil)),
		// Every test app of a package shares the process's few password
		// check slots; on a busy machine a login may wait long for one,
		// and a test that is not about that must not get 503 for it.
		ArgonWait: TestArgonWait,
		// Likewise for the wait budget; tests about it set their own.
		WaitBudget: TestArgonWait,
	}}
	for _, o := range options {
		o(&cfg)
	}
	var opts storage.Options
	if cfg.opts != nil {
		opts = *cfg.opts
	} else {
		opts = NewDatabase(t, backend)
	}
	if opts.Log == nil {
		opts.Log = cfg.deps.Log
	}
	store := OpenCreated(t, opts)
	uploads, dir, s3 := newUploadStore(t, &cfg)
	profiles, posts := dbadmin.SampleImages()
	if err := media.WriteSample(context.Background(), uploads, profiles, posts); err != nil {
		t.Fatal(err)
	}
	cfg.deps.Store, cfg.deps.Media = store, uploads
	if cfg.delivery != "" {
		d, err := media.NewDelivery(context.Background(), uploads, cfg.delivery, cfg.urlTTL)
		if err != nil {
			t.Fatal(err)
		}
		cfg.deps.Delivery = d
	}
	h := app.New(cfg.deps)
	for _, mw := range cfg.wrap {
		h = mw(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &App{Server: srv, Store: store, Media: uploads, UploadDir: dir, S3: s3, Secret: secret, Options: opts}
}

// UploadFiles lists everything in the upload store, not only uploads: in
// a directory every entry (temporary files too), in a bucket every key
// under the store's prefix and every multipart upload left unfinished.
// A failed request must not leave even those.
func (a *App) UploadFiles(t testing.TB) []string {
	t.Helper()
	var out []string
	if a.S3 != nil {
		out = a.S3.Keys(t)
	} else {
		entries, err := os.ReadDir(a.UploadDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range entries {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// HasUpload reports whether the upload store holds name.
func (a *App) HasUpload(t testing.TB, name string) bool {
	t.Helper()
	f, err := a.Media.Open(context.Background(), name)
	if errors.Is(err, blob.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("open upload %s: %v", name, err)
	}
	f.Close()
	return true
}

// rolePasswords holds the password of each role NewRole made, for
// WithUser: a server that does not trust local connections asks for it.
var rolePasswords sync.Map

// NewRole creates a PostgreSQL login role with the given attributes (for
// example "NOCREATEDB") and a random password, dropped with everything it
// owns when t ends. WithUser connects as it.
func NewRole(t testing.TB, attrs string) string {
	t.Helper()
	admin := AdminConn(t)
	name := RandomName("insta485_role_")
	password := RandomName("pw")
	if _, err := admin.Exec(context.Background(), "CREATE ROLE "+name+" LOGIN NOSUPERUSER "+attrs+" PASSWORD '"+password+"'"); err != nil {
		t.Fatalf("create role: %v", err)
	}
	rolePasswords.Store(name, password)
	t.Cleanup(func() {
		ctx := context.Background()
		dbs, _ := admin.Query(ctx, "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1", name)
		var owned []string
		for dbs.Next() {
			var d string
			_ = dbs.Scan(&d)
			owned = append(owned, d)
		}
		dbs.Close()
		for _, d := range owned {
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d}.Sanitize()+" WITH (FORCE)")
		}
		if _, err := admin.Exec(ctx, "DROP OWNED BY "+name+"; DROP ROLE "+name); err != nil {
			t.Errorf("drop role %s: %v", name, err)
		}
	})
	return name
}

// WithUser returns the PostgreSQL URL u connecting as role, with its
// password when NewRole made it.
func WithUser(u, role string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	p.User = url.User(role)
	if pw, ok := rolePasswords.Load(role); ok {
		p.User = url.UserPassword(role, pw.(string))
	}
	return p.String()
}

// ExecSQL runs statements on app's database behind the application's back,
// over a connection of its own: for tests that break the database the way
// a full disk or a lost table would.
func ExecSQL(t testing.TB, app *App, statements ...string) {
	t.Helper()
	ctx := context.Background()
	if storage.IsPostgres(app.Options.DSN) {
		conn, err := pgx.Connect(ctx, app.Options.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, q := range statements {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		return
	}
	db, err := sql.Open("sqlite", "file:"+app.Options.DSN+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range statements {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// SessionCookie starts a session for username on app's database, as
// logging in would, and returns the session cookie's value.
func (a *App) SessionCookie(t testing.TB, username string) string {
	t.Helper()
	ctx := context.Background()
	u, err := a.Store.User(ctx, username)
	if err != nil {
		t.Fatalf("user %s: %v", username, err)
	}
	v, err := (&auth.Authenticator{Sessions: auth.NewSessions(a.Secret), Store: a.Store}).StartSession(ctx, u)
	if err != nil {
		t.Fatalf("start a session for %s: %v", username, err)
	}
	return v
}

// PictureRows is the pictures table of db (each upload's size and
// placeholder colour), a line a row in filename order.
func PictureRows(t testing.TB, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SELECT filename, width, height, color FROM pictures ORDER BY filename")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var name, color string
		var w, h int
		if err := rows.Scan(&name, &w, &h, &color); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %dx%d %s\n", name, w, h, color)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
