package dbadmin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return [32]byte{}
	}
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func dump(t *testing.T, s *storage.Store) string {
	t.Helper()
	var b bytes.Buffer
	if err := dbadmin.Dump(context.Background(), s, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// assertEmptyTarget checks that a copy that failed left no trace: no
// insta485 schema and no tables at all.
func assertEmptyTarget(t *testing.T, target storage.Options) {
	t.Helper()
	ctx := context.Background()
	if !storage.IsPostgres(target.DSN) {
		if _, err := os.Stat(target.DSN); err == nil {
			t.Errorf("the failed copy left the SQLite file %s behind", target.DSN)
		}
		return
	}
	c, err := pgx.Connect(ctx, target.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var tables []string
	rows, _ := c.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
	tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) > 0 {
		t.Errorf("the failed copy left tables %v in the target", tables)
	}
}

// TestCopyFromOurs copies a database of ours that has seen deletes, under
// a host time zone far from UTC, and checks that the target holds exactly
// the source's rows and continues every id past what the source handed out.
func TestCopyFromOurs(t *testing.T) {
	kiritimati, err := time.LoadLocation("Pacific/Kiritimati") // UTC+14
	if err != nil {
		t.Fatal(err)
	}
	saved := time.Local
	time.Local = kiritimati
	t.Cleanup(func() { time.Local = saved })

	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		path, src, deleted := testenv.CopySource(t)
		before := [2][32]byte{fileSum(t, path), fileSum(t, path+"-wal")}
		target := testenv.NewDatabase(t, backend)

		var stages []string
		rep, err := dbadmin.CopyFrom(ctx, path, target, dbadmin.CopyOptions{Progress: func(p dbadmin.CopyProgress) {
			if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
				stages = append(stages, p.Stage)
			}
		}})
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		if after := [2][32]byte{fileSum(t, path), fileSum(t, path+"-wal")}; after != before {
			t.Error("the copy changed the source database")
		}
		if strings.Join(stages, ",") != "copy,feed,index,verify" {
			t.Errorf("progress stages %v, want copy, feed, index, verify", stages)
		}
		if rep.Classic {
			t.Error("a database of ours reported as classic")
		}
		for _, tr := range rep.Tables {
			if tr.SourceRows != tr.TargetRows || tr.SourceCheck != tr.TargetCheck || tr.SourceRows == 0 {
				t.Errorf("table %s: %+v", tr.Table, tr)
			}
			if tr.Table == "posts" && tr.NextID != deleted+1 {
				t.Errorf("posts' next id %d, want %d (past the deleted newest post)", tr.NextID, deleted+1)
			}
		}
		if len(rep.Files) != 1+8 { // the bulk file and the sample's 8 images
			t.Errorf("files named by the rows: %v", rep.Files)
		}

		dst, err := dbadmin.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		if got, want := dump(t, dst), dump(t, src); got != want {
			t.Errorf("db dump of the target differs from the source's:\n%s\nwant\n%s", got, want)
		}
		// Picture sizes come along: pages on the target lay pictures out
		// without an `uploads reprocess`.
		if got, want := testenv.PictureRows(t, dst.Reader()), testenv.PictureRows(t, src.Reader()); got != want || want == "" {
			t.Errorf("target's pictures rows:\n%s\nwant the source's\n%s", got, want)
		}
		// The sample's first post keeps its time, read back through the
		// product's own query.
		p, err := dst.Post(ctx, 1, "awdeorio")
		if err != nil {
			t.Fatal(err)
		}
		sp, err := src.Post(ctx, 1, "awdeorio")
		if err != nil {
			t.Fatal(err)
		}
		if !p.Created.Equal(sp.Created) || p.Created.Location() != time.UTC {
			t.Errorf("post 1 created %v on the target, %v on the source", p.Created, sp.Created)
		}

		// The target goes on: new ids never reuse a deleted one.
		id, err := dst.CreatePost(ctx, "awdeorio", "x.jpg")
		if err != nil {
			t.Fatal(err)
		}
		if id != deleted+1 {
			t.Errorf("new post got id %d, want %d: the deleted newest post's id must not come back", id, deleted+1)
		}
		if _, _, err := dst.Like(ctx, "jflinn", id); err != nil {
			t.Errorf("like on the target: %v", err)
		}
		if _, err := dst.CreateComment(ctx, "jflinn", id, "hello again"); err != nil {
			t.Errorf("comment on the target: %v", err)
		}
		if err := dst.Follow(ctx, "awdeorio", "jflinn"); err != nil {
			t.Errorf("follow on the target: %v", err)
		}
	})
}

func TestCopyRefusesFilledTarget(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		path, _, _ := testenv.CopySource(t)
		target := testenv.NewDatabase(t, backend)
		if _, err := dbadmin.CopyFrom(ctx, path, target, dbadmin.CopyOptions{}); err != nil {
			t.Fatal(err)
		}
		dst, err := dbadmin.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		before := dump(t, dst)
		_, err = dbadmin.CopyFrom(ctx, path, target, dbadmin.CopyOptions{})
		if !errors.Is(err, dbadmin.ErrTargetNotEmpty) || !strings.Contains(err.Error(), "insta485 db destroy") {
			t.Fatalf("second copy: %v, want dbadmin.ErrTargetNotEmpty naming db destroy", err)
		}
		if dump(t, dst) != before {
			t.Error("the refused copy changed the target")
		}
	})
}

// TestCopyFailureLeavesTargetEmpty interrupts a copy midway, by cancelling
// its context and by a failure inside the transaction, and checks that the
// target holds nothing, not even a half schema; then a copy succeeds.
func TestCopyFailureLeavesTargetEmpty(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		path, _, _ := testenv.CopySource(t)
		target := testenv.NewDatabase(t, backend)

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := dbadmin.CopyFrom(ctx, path, target, dbadmin.CopyOptions{Progress: func(p dbadmin.CopyProgress) {
			if p.Stage == "copy" && p.Table == "posts" {
				cancel() // Ctrl-C after the posts are in
			}
		}})
		if !errors.Is(err, context.Canceled) && (err == nil || !strings.Contains(err.Error(), "cancel")) {
			t.Fatalf("cancelled copy: %v, want a cancellation error", err)
		}
		assertEmptyTarget(t, target)

		_, err = dbadmin.CopyFrom(context.Background(), path, target, dbadmin.CopyOptions{
			BeforeCommit: func(context.Context, []string) error { return errors.New("the upload store is full") },
		})
		if err == nil || !strings.Contains(err.Error(), "the upload store is full") {
			t.Fatalf("copy failing before commit: %v", err)
		}
		assertEmptyTarget(t, target)

		if _, err := dbadmin.CopyFrom(context.Background(), path, target, dbadmin.CopyOptions{}); err != nil {
			t.Fatalf("copy after the failures: %v", err)
		}
	})
}

// TestFailedCopyDropsTheDatabaseItCreated: a copy into a PostgreSQL
// database that did not exist creates it, and takes it away again when
// the copy fails, as it removes an SQLite file it made.
func TestFailedCopyDropsTheDatabaseItCreated(t *testing.T) {
	path, _, _ := testenv.CopySource(t)
	admin := testenv.AdminConn(t)
	name := testenv.RandomName("insta485_test_")
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	target := storage.Options{DSN: testenv.WithDatabase(testenv.PostgresAdminURL(), name)}
	_, err := dbadmin.CopyFrom(context.Background(), path, target, dbadmin.CopyOptions{
		BeforeCommit: func(context.Context, []string) error { return errors.New("the upload store is full") },
	})
	if err == nil || !strings.Contains(err.Error(), "the upload store is full") {
		t.Fatalf("copy failing before commit: %v", err)
	}
	var n int
	if err := admin.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the failed copy left the database %s it created", name)
	}
}

// TestCopyVerificationCatchesChanges changes a row inside the target
// transaction behind the copy's back: verification must notice and roll
// everything back.
func TestCopyVerificationCatchesChanges(t *testing.T) {
	path, _, _ := testenv.CopySource(t)
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			target := testenv.NewDatabase(t, backend)
			restore := dbadmin.CopyFaultForTest(func(ctx context.Context, tx *sql.Tx, table string) error {
				if table != "comments" {
					return nil
				}
				_, err := tx.ExecContext(ctx, "UPDATE users SET fullname = 'Someone Else' WHERE username = 'awdeorio'")
				return err
			})
			defer restore()
			rep, err := dbadmin.CopyFrom(context.Background(), path, target, dbadmin.CopyOptions{})
			if err == nil || !strings.Contains(err.Error(), "verification failed") || !strings.Contains(err.Error(), "users") {
				t.Fatalf("copy with a changed row: %v, want verification to fail for users", err)
			}
			if rep.Tables[0].SourceCheck == rep.Tables[0].TargetCheck || rep.Tables[1].SourceCheck != rep.Tables[1].TargetCheck {
				t.Errorf("checksums: %+v", rep.Tables)
			}
			assertEmptyTarget(t, target)
		})
	}
}

func TestCopyRefusesOtherSources(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte("just some text, long enough for a header"), 0o644); err != nil {
		t.Fatal(err)
	}
	makeDB := func(name string, stmts ...string) string {
		p := filepath.Join(dir, name)
		db, err := sql.Open("sqlite", p)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		return p
	}
	other := makeDB("other.sqlite3", "CREATE TABLE recipes (name TEXT)")
	noOwner := makeDB("noowner.sqlite3",
		"CREATE TABLE users (username, fullname, email, filename, password, created)",
		"CREATE TABLE posts (postid INTEGER PRIMARY KEY, filename, created)")
	newer := makeDB("newer.sqlite3", "CREATE TABLE schema_migrations (version INTEGER)", "INSERT INTO schema_migrations VALUES (999)")
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.sqlite3"), "no such file"},
		{notDB, "is not an SQLite database"},
		{other, "is not an insta485 database: it has no users table"},
		{noOwner, "table posts has no column owner"},
		{newer, "newer insta485 (schema version 999"},
	} {
		testenv.ForEachBackend(t, func(t *testing.T, backend string) {
			target := testenv.NewDatabase(t, backend)
			_, err := dbadmin.CopyFrom(ctx, c.path, target, dbadmin.CopyOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("copy from %s: %v, want an error saying %q", filepath.Base(c.path), err, c.want)
			}
			assertEmptyTarget(t, target)
		})
	}
}

// TestCopyIntoEmptySchema copies into a database that holds the schema
// (after `db migrate`) but no rows.
func TestCopyIntoEmptySchema(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		path, src, _ := testenv.CopySource(t)
		target := testenv.NewDatabase(t, backend)
		// The schema without its rows, as sql/schema.sql alone leaves it.
		if err := dbadmin.Create(ctx, target); err != nil {
			t.Fatal(err)
		}
		s, err := dbadmin.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"likes", "comments", "following", "posts", "users"} {
			if _, err := s.Primary().ExecContext(ctx, "DELETE FROM "+table); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		if _, err := dbadmin.CopyFrom(ctx, path, target, dbadmin.CopyOptions{}); err != nil {
			t.Fatal(err)
		}
		dst, err := dbadmin.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		if dump(t, dst) != dump(t, src) {
			t.Error("the target's rows differ from the source's")
		}
	})
}

// TestCopyReadsOneSnapshot writes to the source while the copy runs, as a
// server still up would: the write succeeds (WAL), and the copy holds the
// database as it was when the copy began, consistently across tables.
func TestCopyReadsOneSnapshot(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		path, src, deleted := testenv.CopySource(t)
		want := dump(t, src)
		target := testenv.NewDatabase(t, backend)
		var late int64
		_, err := dbadmin.CopyFrom(ctx, path, target, dbadmin.CopyOptions{Progress: func(p dbadmin.CopyProgress) {
			if p.Stage == "copy" && p.Table == "users" && late == 0 {
				var err error
				if late, err = src.CreatePost(ctx, "awdeorio", "late.jpg"); err != nil {
					t.Errorf("the server's write during the copy: %v", err)
				}
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if late != deleted+1 {
			t.Errorf("the server's post got id %d, want %d", late, deleted+1)
		}
		dst, err := dbadmin.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		if got := dump(t, dst); got != want {
			t.Errorf("the target is not the source as it was when the copy began:\n%s", got)
		}
	})
}

// TestCopyRefusesOrphans copies a source holding comments and likes of a
// post deleted while SQLite's foreign keys were off: the copy says so and
// leaves the target empty.
func TestCopyRefusesOrphans(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		path, src, _ := testenv.CopySource(t)
		src.Close()
		db, err := sql.Open("sqlite", path) // foreign keys off, as the sqlite3 tool has them
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("DELETE FROM posts WHERE postid = 1"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		target := testenv.NewDatabase(t, backend)
		_, err = dbadmin.CopyFrom(context.Background(), path, target, dbadmin.CopyOptions{})
		if err == nil || !strings.Contains(err.Error(), "refer to") || !strings.Contains(err.Error(), "docs/moving-from-sqlite.md") {
			t.Fatalf("copy with orphaned rows: %v", err)
		}
		assertEmptyTarget(t, target)
	})
}

// TestCopyOlderInsta485 copies the tables of an older Insta485, whose likes
// have no likeid and whose following is (username1, username2): SQLite's
// rowid numbers the likes.
func TestCopyOlderInsta485(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.sqlite3")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE users (username VARCHAR(20) PRIMARY KEY, fullname VARCHAR(40), email VARCHAR(40), filename VARCHAR(64), password VARCHAR(256), created DATETIME DEFAULT CURRENT_TIMESTAMP)",
		"CREATE TABLE posts (postid INTEGER PRIMARY KEY AUTOINCREMENT, filename VARCHAR(64), owner VARCHAR(20), created DATETIME DEFAULT CURRENT_TIMESTAMP)",
		"CREATE TABLE following (username1 VARCHAR(20), username2 VARCHAR(20), created DATETIME DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (username1, username2))",
		"CREATE TABLE comments (commentid INTEGER PRIMARY KEY AUTOINCREMENT, owner VARCHAR(20), postid INTEGER, text VARCHAR(1024), created DATETIME DEFAULT CURRENT_TIMESTAMP)",
		"CREATE TABLE likes (owner VARCHAR(20), postid INTEGER, created DATETIME DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (owner, postid))",
		"INSERT INTO users VALUES ('ann', 'Ann', 'ann@example.com', 'a.jpg', 'sha512$s$00', '2018-01-02 03:04:05'), ('bob', 'Bob', 'bob@example.com', 'b.jpg', 'sha512$s$00', '2018-01-02 03:04:06')",
		"INSERT INTO posts (filename, owner, created) VALUES ('p.jpg', 'ann', '2018-02-01 00:00:00'), ('q.jpg', 'bob', '2018-02-01 00:00:01')",
		"INSERT INTO following VALUES ('ann', 'bob', '2018-03-01 00:00:00')",
		"INSERT INTO comments (owner, postid, text, created) VALUES ('bob', 1, 'hi', '2018-04-01 00:00:00')",
		"INSERT INTO likes VALUES ('bob', 1, '2018-05-01 00:00:00'), ('ann', 2, '2018-05-01 00:00:01'), ('ann', 1, '2018-05-01 00:00:02')",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		target := testenv.NewDatabase(t, backend)
		rep, err := dbadmin.CopyFrom(ctx, path, target, dbadmin.CopyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Classic || rep.Tables[4].NextID != 4 {
			t.Errorf("report: %+v", rep)
		}
		s, err := dbadmin.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out := dump(t, s)
		for _, want := range []string{
			"ann       bob       2018-03-01 00:00:00",
			"1       bob    1       2018-05-01 00:00:00",
			"3       ann    1       2018-05-01 00:00:02",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the copy's dump lacks %q:\n%s", want, out)
			}
		}
	})
}
