package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/backup"
	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// site is an insta485 site to back up: a running app with the sample
// data, some bulk rows and pictures.
func site(t *testing.T, backend, store string) *testenv.App {
	t.Helper()
	a := testenv.NewApp(t, backend, testenv.WithUploadStore(store))
	ctx := context.Background()
	var files []string
	for range 3 {
		name := blob.NewName(".jpg")
		if _, err := media.PutPicture(ctx, a.Media, name, media.Landscape(name, 400)); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	if _, err := dbadmin.Populate(ctx, a.Store, dbadmin.Bulk{Users: 10, Posts: 30, Follows: 20, Likes: 80, Comments: 25,
		Files: files, ProfileFiles: files[:1], PasswordHash: "sha512$salt$00", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	// The newest post goes, so its id is handed out but no row has it.
	id, err := a.Store.CreatePost(ctx, "awdeorio", files[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.DeletePost(ctx, id, "awdeorio"); err != nil {
		t.Fatal(err)
	}
	// A session, which a backup leaves out.
	a.SessionCookie(t, "jflinn")
	return a
}

// emptySite is where a restore goes: a database of backend that does not
// exist yet (SQLite) or has no tables (PostgreSQL), and an empty store.
func emptySite(t *testing.T, backend, store string) (storage.Options, blob.Store) {
	t.Helper()
	opts := testenv.NewDatabase(t, backend)
	if store == "s3" {
		return opts, testenv.NewS3Bucket(t).Open(t)
	}
	st, err := blob.NewLocal(filepath.Join(t.TempDir(), "restored-uploads"))
	if err != nil {
		t.Fatal(err)
	}
	return opts, st
}

func dump(t *testing.T, opts storage.Options) string {
	t.Helper()
	s, err := dbadmin.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b bytes.Buffer
	if err := dbadmin.Dump(context.Background(), s, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func storeFiles(t *testing.T, st blob.Store) map[string]string {
	t.Helper()
	names, err := blob.Names(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		f, err := st.Open(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(b)
	}
	return out
}

func TestBackupRestoresIntoEitherBackendAndStore(t *testing.T) {
	for _, c := range []struct{ from, fromStore, to, toStore string }{
		{"sqlite", "local", "sqlite", "local"},
		{"sqlite", "local", "postgres", "s3"},
		{"postgres", "s3", "sqlite", "local"},
		{"postgres", "local", "postgres", "local"},
	} {
		t.Run(fmt.Sprintf("%s-%s to %s-%s", c.from, c.fromStore, c.to, c.toStore), func(t *testing.T) {
			ctx := context.Background()
			a := site(t, c.from, c.fromStore)
			dir := filepath.Join(t.TempDir(), "backup")
			m, err := backup.Backup(ctx, a.Options, a.Media, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.Backend != c.from || m.SchemaVersion == 0 || len(m.Tables) != 6 || len(m.Missing) > 0 {
				t.Fatalf("manifest: %+v", m)
			}
			if _, err := backup.Verify(ctx, dir); err != nil {
				t.Fatalf("verify a fresh backup: %v", err)
			}

			opts, st := emptySite(t, c.to, c.toStore)
			if _, _, err := backup.Restore(ctx, dir, opts, st, nil); err != nil {
				t.Fatal(err)
			}
			if got, want := dump(t, opts), dump(t, a.Options); got != want {
				t.Errorf("the restored site's rows differ from the original's:\n%s\nwant\n%s", got, want)
			}
			// What pages know of each picture's size and colour comes
			// along, so the restored site needs no `uploads reprocess`.
			if got, want := testenv.PictureRows(t, rawDB(t, opts)), testenv.PictureRows(t, rawDB(t, a.Options)); got != want || want == "" {
				t.Errorf("restored pictures rows:\n%s\nwant\n%s", got, want)
			}
			got, want := storeFiles(t, st), storeFiles(t, a.Media)
			if len(got) != len(want) {
				t.Errorf("restored store has %d files, the site %d", len(got), len(want))
			}
			for n, b := range want {
				if got[n] != b {
					t.Errorf("picture %s not restored as it was", n)
				}
			}

			// Everyone starts logged out.
			r, err := dbadmin.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for _, table := range []string{"sessions", "login_failures"} {
				var got int64
				if err := rawDB(t, opts).QueryRow("SELECT count(*) FROM " + table).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != 0 {
					t.Errorf("restored %s has %d rows, want none", table, got)
				}
			}
			// The next post gets the id after the deleted newest one: the
			// sequence came along, not only the rows.
			id, err := r.CreatePost(ctx, "awdeorio", aPicture(t, m))
			if err != nil {
				t.Fatal(err)
			}
			if next := nextID(m, "posts"); id != next {
				t.Errorf("new post on the restored site got id %d, want %d", id, next)
			}
		})
	}
}

// TestRestoreReadsABackupWithoutPictureSizes: a backup made before
// backups carried the pictures table (its database has no such table and
// its manifest no such entry) verifies and restores into either backend;
// the restored site has every row but no picture sizes.
func TestRestoreReadsABackupWithoutPictureSizes(t *testing.T) {
	ctx := context.Background()
	a := site(t, "sqlite", "local")
	dir := filepath.Join(t.TempDir(), "backup")
	if _, err := backup.Backup(ctx, a.Options, a.Media, dir, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, dbadmin.SnapshotFile)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DROP TABLE pictures"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	editManifest(t, dir, func(m *backup.Manifest) {
		m.Database.Size, m.Database.SHA256 = int64(len(f)), sha256Hex(f)
		m.Tables = slices.DeleteFunc(m.Tables, func(t backup.Table) bool { return t.Name == "pictures" })
	})
	if _, err := backup.Verify(ctx, dir); err != nil {
		t.Fatalf("verify: %v", err)
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		opts, st := emptySite(t, backend, "local")
		if _, _, err := backup.Restore(ctx, dir, opts, st, nil); err != nil {
			t.Fatal(err)
		}
		if got, want := dump(t, opts), dump(t, a.Options); got != want {
			t.Errorf("the restored site's rows differ from the original's:\n%s\nwant\n%s", got, want)
		}
		if got := testenv.PictureRows(t, rawDB(t, opts)); got != "" {
			t.Errorf("pictures rows from a backup without them:\n%s", got)
		}
	})
}

// aPicture names some picture of the backup, for a new post.
func aPicture(t *testing.T, m backup.Manifest) string {
	t.Helper()
	for _, f := range m.Files {
		if n := strings.TrimPrefix(f.Name, "uploads/"); !strings.Contains(n, "-w") {
			return n
		}
	}
	t.Fatal("no picture in the backup")
	return ""
}

func nextID(m backup.Manifest, table string) int64 {
	for _, t := range m.Tables {
		if t.Name == table {
			return t.NextID
		}
	}
	return 0
}

func rawDB(t *testing.T, opts storage.Options) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", opts.DSN
	if storage.IsPostgres(dsn) {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// damage is one way a backup goes bad after it was written.
type damage struct {
	name string
	do   func(t *testing.T, dir string)
}

var damages = []damage{
	{"truncated database", func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, dbadmin.SnapshotFile)) }},
	{"truncated picture", func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, firstPicture(t, dir))) }},
	{"altered picture", func(t *testing.T, dir string) { flipByte(t, filepath.Join(dir, firstPicture(t, dir))) }},
	{"missing picture", func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, firstPicture(t, dir))); err != nil {
			t.Fatal(err)
		}
	}},
	// A picture taken out of the backup and out of its manifest: only
	// the rows still name it.
	{"picture gone from the manifest too", func(t *testing.T, dir string) {
		name := firstPicture(t, dir)
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		editManifest(t, dir, func(m *backup.Manifest) { m.Files = m.Files[1:] })
	}},
	{"missing manifest", func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, "manifest.json")); err != nil {
			t.Fatal(err)
		}
	}},
	{"truncated manifest", func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, "manifest.json")) }},
	{"manifest naming a path outside", func(t *testing.T, dir string) {
		editManifest(t, dir, func(m *backup.Manifest) { m.Files[0].Name = "uploads/../../etc/passwd" })
	}},
	// A row changed and the file's checksum updated to match: only the
	// rows' checksums can tell, and they are compared inside the restore's
	// transaction.
	{"altered row", func(t *testing.T, dir string) {
		db, err := sql.Open("sqlite", filepath.Join(dir, dbadmin.SnapshotFile))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE users SET fullname = 'Mallory' WHERE username = 'awdeorio'"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		f, err := os.ReadFile(filepath.Join(dir, dbadmin.SnapshotFile))
		if err != nil {
			t.Fatal(err)
		}
		editManifest(t, dir, func(m *backup.Manifest) {
			m.Database.Size = int64(len(f))
			m.Database.SHA256 = sha256Hex(f)
		})
	}},
}

func TestRestoreRefusesDamagedBackupsAndLeavesTheTargetAlone(t *testing.T) {
	ctx := context.Background()
	good := map[string]string{}
	for _, backend := range testenv.Backends {
		a := site(t, backend, "local")
		good[backend] = filepath.Join(t.TempDir(), "backup")
		if _, err := backup.Backup(ctx, a.Options, a.Media, good[backend], nil); err != nil {
			t.Fatal(err)
		}
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		for _, d := range damages {
			t.Run(d.name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "backup")
				if err := os.CopyFS(dir, os.DirFS(good[backend])); err != nil {
					t.Fatal(err)
				}
				d.do(t, dir)
				if _, err := backup.Verify(ctx, dir); err == nil {
					t.Errorf("verify passed a backup with a %s", d.name)
				}
				// An altered row and a picture gone from the manifest are
				// found only inside the restore's transaction: try them on
				// both backends. The others are refused before the target
				// is touched.
				targets := []string{"sqlite"}
				if d.name == "altered row" || d.name == "picture gone from the manifest too" {
					targets = testenv.Backends
				}
				for _, to := range targets {
					opts, st := emptySite(t, to, "local")
					_, _, err := backup.Restore(ctx, dir, opts, st, nil)
					if err == nil {
						t.Fatalf("restored a backup with a %s into %s", d.name, to)
					}
					t.Logf("refused: %v", err)
					assertUntouched(t, opts, st)
				}
			})
		}
	})
}

func TestRestoreRefusesASiteThatHasData(t *testing.T) {
	ctx := context.Background()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		a := site(t, backend, "local")
		dir := filepath.Join(t.TempDir(), "backup")
		if _, err := backup.Backup(ctx, a.Options, a.Media, dir, nil); err != nil {
			t.Fatal(err)
		}
		before := dump(t, a.Options)
		files := storeFiles(t, a.Media)
		_, _, err := backup.Restore(ctx, dir, a.Options, a.Media, nil)
		if !errors.Is(err, backup.ErrTargetNotEmpty) {
			t.Fatalf("restore into the site itself: %v, want ErrTargetNotEmpty", err)
		}
		if dump(t, a.Options) != before || len(storeFiles(t, a.Media)) != len(files) {
			t.Error("a refused restore changed the site")
		}
		// An empty database but a store with files in it.
		opts, _ := emptySite(t, backend, "local")
		if _, _, err := backup.Restore(ctx, dir, opts, a.Media, nil); !errors.Is(err, backup.ErrTargetNotEmpty) {
			t.Fatalf("restore into a store with files: %v, want ErrTargetNotEmpty", err)
		}
		assertNoDatabase(t, opts)
		// Backing up into a path that exists is refused too.
		if _, err := backup.Backup(ctx, a.Options, a.Media, dir, nil); err == nil {
			t.Error("backed up over an existing backup")
		}
	})
}

// assertUntouched checks that a failed restore left no database and no files.
func assertUntouched(t *testing.T, opts storage.Options, st blob.Store) {
	t.Helper()
	assertNoDatabase(t, opts)
	if names, err := blob.Names(context.Background(), st); err != nil || len(names) > 0 {
		t.Errorf("a failed restore left %d files in the store (%v)", len(names), err)
	}
}

func assertNoDatabase(t *testing.T, opts storage.Options) {
	t.Helper()
	if ok, err := dbadmin.Exists(context.Background(), opts); err != nil || ok {
		t.Errorf("a failed restore left a database (exists %v, %v)", ok, err)
	}
	if !storage.IsPostgres(opts.DSN) {
		if _, err := os.Stat(opts.DSN); err == nil {
			t.Errorf("a failed restore left the SQLite file %s", opts.DSN)
		}
	}
}

func firstPicture(t *testing.T, dir string) string {
	t.Helper()
	m := readManifest(t, dir)
	if len(m.Files) == 0 {
		t.Fatal("the backup has no pictures")
	}
	return filepath.FromSlash(m.Files[0].Name)
}

func readManifest(t *testing.T, dir string) backup.Manifest {
	t.Helper()
	var m backup.Manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func editManifest(t *testing.T, dir string, edit func(*backup.Manifest)) {
	t.Helper()
	m := readManifest(t, dir)
	edit(&m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// deleteOnOpen is the site's store as the backup sees it: the first time
// the backup opens a picture (the snapshot is taken by then), the site's
// owner deletes a post through the web form, as a person would.
type deleteOnOpen struct {
	blob.Store
	once   sync.Once
	onOpen func()
}

func (d *deleteOnOpen) Open(ctx context.Context, name string) (blob.File, error) {
	d.once.Do(d.onOpen)
	return d.Store.Open(ctx, name)
}

// Both backends, both stores between them.
func TestBackupKeepsAPictureDeletedWhileItRuns(t *testing.T) {
	for _, c := range []struct{ backend, store string }{{"sqlite", "local"}, {"postgres", "s3"}} {
		t.Run(c.backend+"-"+c.store, func(t *testing.T) { keepsDeletedPicture(t, c.backend, c.store) })
	}
}

func keepsDeletedPicture(t *testing.T, backend, store string) {
	ctx := context.Background()
	a := site(t, backend, store)
	// awdeorio's post 3 has a picture of its own (sample data).
	picture := postFilename(t, a, 3)
	cookie := a.SessionCookie(t, "awdeorio")
	stillThere := false
	d := &deleteOnOpen{Store: a.Media, onOpen: func() {
		deletePost(t, a, cookie, 3)
		stillThere = a.HasUpload(t, picture)
	}}
	dir := filepath.Join(t.TempDir(), "backup")
	m, err := backup.Backup(ctx, a.Options, d, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !stillThere {
		t.Error("the site deleted the picture of a post while a backup held the lease")
	}
	if !slices.ContainsFunc(m.Files, func(f backup.File) bool { return f.Name == "uploads/"+picture }) {
		t.Fatalf("the backup lacks %s, deleted while it ran; it has %v", picture, m.Files)
	}
	if m.DeferredDeletes != 1 {
		t.Errorf("deferred deletes: %d, want 1", m.DeferredDeletes)
	}
	if a.HasUpload(t, picture) {
		t.Error("the picture is still in the store after the backup: the deferred delete did not happen")
	}
	// Once no backup runs, the site deletes pictures at once again.
	first := postFilename(t, a, 1)
	deletePost(t, a, cookie, 1)
	if a.HasUpload(t, first) {
		t.Error("the site kept a deleted post's picture with no backup running")
	}
	opts, st := emptySite(t, backend, "local")
	if _, _, err := backup.Restore(ctx, dir, opts, st, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dump(t, opts), picture) {
		t.Error("the restored site lacks the post deleted during the backup")
	}
	if _, err := st.Open(ctx, picture); err != nil {
		t.Errorf("the restored store lacks %s: %v", picture, err)
	}
}

func postFilename(t *testing.T, a *testenv.App, id int64) string {
	t.Helper()
	var name string
	if err := rawDB(t, a.Options).QueryRow("SELECT filename FROM posts WHERE postid = $1", id).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

var csrfInput = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([^"]+)">`)

// deletePost deletes a post through the site's form, with its CSRF token.
func deletePost(t *testing.T, a *testenv.App, cookie string, id int64) {
	t.Helper()
	get := func(req *http.Request) *http.Response {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	req, _ := http.NewRequest("GET", a.URL+"/accounts/edit/", nil)
	res := get(req)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tok := csrfInput.FindSubmatch(body)
	if tok == nil {
		t.Fatalf("no CSRF token on /accounts/edit/ (status %d)", res.StatusCode)
	}
	form := url.Values{"operation": {"delete"}, "postid": {fmt.Sprint(id)}, "csrf_token": {html.UnescapeString(string(tok[1]))}}
	req, _ = http.NewRequest("POST", a.URL+"/posts/?target=/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res = get(req)
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("delete post %d: status %d, want 302", id, res.StatusCode)
	}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// A backup taken while the site writes is one moment of it: rows are read
// table by table, and between reading posts and the tables that refer to
// them the writer adds posts with comments and likes and deletes older
// ones. Read without one snapshot, the backup would hold comments on posts
// it lacks, and its restore (which checks every reference) would fail.
func TestBackupWhileTheSiteWritesIsConsistent(t *testing.T) {
	ctx := context.Background()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		a := site(t, backend, "local")
		picture := postFilename(t, a, 1)
		var done atomic.Int64
		stop := make(chan struct{})
		writerErr := make(chan error, 1)
		go func() {
			var last int64
			for i := 0; ; i++ {
				select {
				case <-stop:
					writerErr <- nil
					return
				default:
				}
				id, err := a.Store.CreatePost(ctx, "jflinn", picture)
				if err == nil {
					_, err = a.Store.CreateComment(ctx, "awdeorio", id, fmt.Sprint("comment ", i))
				}
				if err == nil {
					_, _, err = a.Store.Like(ctx, "michjc", id)
				}
				if err == nil && last != 0 && i%2 == 0 {
					_, err = a.Store.DeletePost(ctx, last, "jflinn")
				}
				if err != nil {
					writerErr <- err
					return
				}
				last = id
				done.Add(1)
			}
		}()
		waitFor := func(n int64) {
			deadline := time.Now().Add(time.Minute)
			for start := done.Load(); done.Load() < start+n; time.Sleep(time.Millisecond) {
				select {
				case err := <-writerErr:
					t.Fatalf("writer: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("the writer made %d writes in a minute, want %d", done.Load()-start, n)
				}
			}
		}
		waitFor(3)
		dir := filepath.Join(t.TempDir(), "backup")
		m, err := backup.Backup(ctx, a.Options, a.Media, dir, func(p dbadmin.CopyProgress) {
			if p.Stage == "copy" && p.Table == "posts" && p.Done == p.Total {
				waitFor(5) // writes between reading posts and the rest
			}
		})
		close(stop)
		if werr := <-writerErr; werr != nil {
			t.Fatalf("writer: %v", werr)
		}
		if err != nil {
			t.Fatal(err)
		}
		to := "postgres"
		if backend == "postgres" {
			to = "sqlite"
		}
		opts, st := emptySite(t, to, "local")
		_, rep, err := backup.Restore(ctx, dir, opts, st, nil)
		if err != nil {
			t.Fatalf("restore a backup taken during writes: %v", err)
		}
		for i, tr := range rep.Tables {
			if tr.TargetRows != m.Tables[i].Rows {
				t.Errorf("%s: restored %d rows, the manifest says %d", tr.Table, tr.TargetRows, m.Tables[i].Rows)
			}
		}
		// The site went on: it has more posts than the backup.
		var now int64
		if err := rawDB(t, a.Options).QueryRow("SELECT count(*) FROM comments").Scan(&now); err != nil {
			t.Fatal(err)
		}
		if now <= m.Tables[3].Rows {
			t.Errorf("the site has %d comments, the backup %d: the writer did not write during the backup", now, m.Tables[3].Rows)
		}
	})
}
