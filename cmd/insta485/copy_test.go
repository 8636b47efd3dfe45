package main

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to read the target as it is

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// classicSource builds the classic Insta485 fixture with the sqlite3 tool,
// as the course's users do, and an upload directory holding its files.
func classicSource(t *testing.T) (path, uploads string) {
	t.Helper()
	sqlite3 := testenv.SQLite3(t)
	dir := t.TempDir()
	path = filepath.Join(dir, "insta485.sqlite3")
	for _, f := range []string{"testdata/classic/schema.sql", "testdata/classic/data.sql"} {
		in, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sqlite3, "-bail", path)
		cmd.Stdin = in
		out, err := cmd.CombinedOutput()
		in.Close()
		if err != nil {
			t.Fatalf("sqlite3 < %s: %v\n%s", f, err, out)
		}
	}
	uploads = filepath.Join(dir, "uploads")
	if err := os.Mkdir(uploads, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range sqlite3Lines(t, path, "SELECT filename FROM users UNION SELECT filename FROM posts") {
		if err := os.WriteFile(filepath.Join(uploads, name), []byte("image "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path, uploads
}

func sqlite3Lines(t *testing.T, path, query string) []string {
	t.Helper()
	out, err := exec.Command(testenv.SQLite3(t), "-readonly", "-separator", "|", path, query).Output()
	if err != nil {
		t.Fatalf("sqlite3 %q: %v", query, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// targetLines runs query on the target database, each row joined with "|"
// like the sqlite3 tool prints it.
func targetLines(t *testing.T, opts storage.Options, query string) []string {
	t.Helper()
	driver, dsn := "sqlite", opts.DSN
	if storage.IsPostgres(opts.DSN) {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		cells := make([]string, len(cols))
		for i, v := range vals {
			cells[i] = v.String
		}
		lines = append(lines, strings.Join(cells, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestDBCopyClassic copies a classic Insta485 database built by the sqlite3
// tool, on a host whose time zone is far from UTC, and uses the copy: every
// row and timestamp as it was, legacy passwords log in (and are upgraded),
// new rows get ids past every id the old site handed out.
func TestDBCopyClassic(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	saved := time.Local
	time.Local = la
	t.Cleanup(func() { time.Local = saved })

	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		src, oldUploads := classicSource(t)
		opts := testenv.NewDatabase(t, backend)
		uploads := filepath.Join(t.TempDir(), "uploads")

		out, err := dbTool(t, opts, uploads, "copy", "--from", src, "--uploads-from", oldUploads)
		if err != nil {
			t.Fatalf("db copy: %v\n%s", err, out)
		}
		for _, want := range []string{"verified: every table's row count and checksum match", "upload files: 8 copied, 0 already there, 0 missing",
			"posts      4            4", "likes      6            6"} {
			if !strings.Contains(out, want) {
				t.Errorf("db copy output lacks %q:\n%s", want, out)
			}
		}
		if n := countFiles(t, uploads); n != 8 {
			t.Errorf("the upload store holds %d files, want the 8 the rows name", n)
		}

		assertSameRows(t, src, opts)

		s, err := dbadmin.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		a := &auth.Authenticator{Store: s}
		if _, err := a.Login(ctx, "192.0.2.1", "awdeorio", "wrong"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("login with a wrong password: %v", err)
		}
		u, err := a.Login(ctx, "192.0.2.1", "awdeorio", "password")
		if err != nil {
			t.Fatalf("login with the legacy sha512 password: %v", err)
		}
		if !strings.HasPrefix(u.Password, "$argon2id$") {
			t.Errorf("the legacy hash was not upgraded: %q", u.Password)
		}
		if _, err := a.Login(ctx, "192.0.2.1", "awdeorio", "password"); err != nil {
			t.Errorf("login after the upgrade: %v", err)
		}

		// The old site handed out posts up to 5, comments up to 9, likes up
		// up to 7 (the newest of each deleted): none of them comes back.
		postid, err := s.CreatePost(ctx, "jflinn", "505083b8b56c97429a728b68f31b0b2a089e5113.jpg")
		if err != nil || postid != 6 {
			t.Errorf("new post: id %d, %v; want 6", postid, err)
		}
		c, err := s.CreateComment(ctx, "jag", 1, "copied and still here")
		if err != nil || c.CommentID != 10 {
			t.Errorf("new comment: %+v, %v; want id 10", c, err)
		}
		l, _, err := s.Like(ctx, "jag", 1)
		if err != nil || l.LikeID != 8 {
			t.Errorf("new like: %+v, %v; want id 8", l, err)
		}
	})
}

func TestDBCopyRefusals(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		opts := testenv.NewDatabase(t, backend)
		uploads := filepath.Join(t.TempDir(), "uploads")

		_, err := dbTool(t, opts, uploads, "copy")
		if err == nil || !strings.Contains(err.Error(), "--from") {
			t.Errorf("db copy without --from: %v", err)
		}

		other := filepath.Join(t.TempDir(), "other.sqlite3")
		if out, err := exec.Command(testenv.SQLite3(t), other, "CREATE TABLE users (name TEXT);").CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		_, err = dbTool(t, opts, uploads, "copy", "--from", other)
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "is not an insta485 database: table users has no column username") {
			t.Errorf("db copy from a non-insta485 database: %v (exit %d)", err, exitCode(err))
		}

		if out, err := dbTool(t, opts, uploads, "create"); err != nil {
			t.Fatalf("db create: %v\n%s", err, out)
		}
		src, _ := classicSource(t)
		_, err = dbTool(t, opts, uploads, "copy", "--from", src)
		if !errors.Is(err, dbadmin.ErrTargetNotEmpty) || exitCode(err) != 1 {
			t.Errorf("db copy into a filled database: %v (exit %d)", err, exitCode(err))
		}
	})
}

// assertSameRows checks that the target holds exactly the classic source's
// rows, timestamps to the second as the source's text has them.
func assertSameRows(t *testing.T, src string, opts storage.Options) {
	t.Helper()
	ts := "CAST(created AS TEXT)" // the stored text, not the driver's parse of it
	if storage.IsPostgres(opts.DSN) {
		ts = "to_char(created, 'YYYY-MM-DD HH24:MI:SS')"
	}
	for _, q := range [][2]string{
		{"SELECT username, fullname, email, filename, password, created FROM users ORDER BY username",
			"SELECT username, fullname, email, filename, password, " + ts + " FROM users ORDER BY username"},
		{"SELECT postid, filename, owner, created FROM posts ORDER BY postid",
			"SELECT postid, filename, owner, " + ts + " FROM posts ORDER BY postid"},
		{"SELECT username1, username2, created FROM following ORDER BY username1, username2",
			"SELECT follower, followee, " + ts + " FROM following ORDER BY follower, followee"},
		{"SELECT commentid, owner, postid, text, created FROM comments ORDER BY commentid",
			"SELECT commentid, owner, postid, text, " + ts + " FROM comments ORDER BY commentid"},
		{"SELECT likeid, owner, postid, created FROM likes ORDER BY likeid",
			"SELECT likeid, owner, postid, " + ts + " FROM likes ORDER BY likeid"},
	} {
		want := sqlite3Lines(t, src, q[0])
		got := targetLines(t, opts, q[1])
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("target rows of %q:\n%s\nwant (the source's):\n%s", q[1], strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestDBCopyUnderTZ runs the real binary with TZ set far from UTC, the way
// an operator's shell might have it: the timestamps arrive unchanged.
func TestDBCopyUnderTZ(t *testing.T) {
	src, _ := classicSource(t)
	bin := filepath.Join(t.TempDir(), "insta485")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		opts := testenv.NewDatabase(t, backend)
		cmd := exec.Command(bin, "db", "copy", "--from", src, "--database", opts.DSN, "--uploads", filepath.Join(t.TempDir(), "uploads"))
		cmd.Env = append(os.Environ(), "TZ=Pacific/Kiritimati")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("TZ=Pacific/Kiritimati insta485 db copy: %v\n%s", err, out)
		}
		assertSameRows(t, src, opts)
	})
}
