// Package sqlite is what it takes to serve from an SQLite file: the
// settings every connection opens with (WAL, busy timeout, foreign keys,
// IMMEDIATE transactions), the single writer and the read-only pool, the
// cache that keeps read statements prepared, and what SQLite's error codes
// mean (a constraint violated, an outage). The SQL insta485 runs and the
// dialect that shapes it are internal/storage's; the operator tools'
// SQLite code is internal/dbadmin's sqlite_*.go.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dsn builds the connection string every connection opens with: WAL so
// readers never block the writer, a busy timeout so another process's write
// (the db tool while the server runs) waits instead of failing, foreign keys
// on, and IMMEDIATE transactions so a transaction takes the write lock when it
// begins rather than failing when it first writes.
//
// These are also what Litestream (deploy/litestream.yml) needs: WAL, a
// busy timeout of at least 5 s for the moments its checkpoints hold the
// write lock, and automatic checkpoints only once the WAL is ten times
// the usual 1000 pages (~40 MB), so that Litestream, which checkpoints
// every 1000 pages once it has copied them, does them and the app's own
// rarely race it.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens the database file at path (creating its directory): the
// writer, a single connection so that writers queue in Go instead of
// failing with "database is locked", and a pool of read-only connections
// (at most maxConns, 0: twice the CPUs, at least 4).
func Open(ctx context.Context, path string, maxConns int) (writer, reader *sql.DB, err error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("create directory for the SQLite database: %w", err)
		}
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		if Code(err) == sqlite3.SQLITE_NOTADB || Code(err) == sqlite3.SQLITE_CORRUPT {
			return nil, nil, fmt.Errorf("%s is not a usable SQLite database (corrupted?): run `insta485 db reset` to start over", path)
		}
		return nil, nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	n := maxConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return w, r, nil
}

// Code returns the SQLite result code in err, or 0.
func Code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// IsUniqueViolation reports a unique or primary key constraint violated.
func IsUniqueViolation(err error) bool {
	c := Code(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// IsForeignKeyViolation reports a foreign key constraint violated.
func IsForeignKeyViolation(err error) bool {
	return Code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// Unavailable reports whether SQLite could not serve right now: a lock
// held past the busy timeout, a file it cannot open or read.
func Unavailable(err error) bool {
	switch Code(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
		return true
	}
	return false
}
