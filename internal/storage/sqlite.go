package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDSN builds the connection string every connection opens with: WAL so
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
func sqliteDSN(path string, readOnly bool) string {
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

func openSQLite(ctx context.Context, opts Options) (*Store, error) {
	if dir := filepath.Dir(opts.DSN); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create directory for the SQLite database: %w", err)
		}
	}
	w, err := sql.Open("sqlite", sqliteDSN(opts.DSN, false))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		if sqliteCode(err) == sqlite3.SQLITE_NOTADB || sqliteCode(err) == sqlite3.SQLITE_CORRUPT {
			return nil, fmt.Errorf("%s is not a usable SQLite database (corrupted?): run `insta485 db reset` to start over", opts.DSN)
		}
		return nil, fmt.Errorf("open SQLite database %s: %w", opts.DSN, err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(opts.DSN, true))
	if err != nil {
		w.Close()
		return nil, err
	}
	n := opts.MaxConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &Store{primary: w, latestDB: r, latest: newStmtCache(r), dialect: sqliteDialect{}}, nil
}

type sqliteDialect struct{}

func (sqliteDialect) name() string          { return "sqlite" }
func (sqliteDialect) migrationsDir() string { return "migrations/sqlite" }

func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func (sqliteDialect) isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func (sqliteDialect) isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func (sqliteDialect) forUpdate() string { return "" }

func (sqliteDialect) jsonObject(pairs ...string) string {
	return "json_object(" + strings.Join(pairs, ", ") + ")"
}

func (sqliteDialect) jsonArray(expr, order string) string {
	return "json_group_array(" + expr + " ORDER BY " + order + ")"
}

// jsonSub: a subquery's result is plain text to SQLite; json() makes it
// JSON again, so an enclosing json_object embeds it rather than quoting it.
func (sqliteDialect) jsonSub(query string) string { return "json((" + query + "))" }

func (sqliteDialect) epoch(col string) string { return "unixepoch(" + col + ")" }

// SQLiteExists reports whether the SQLite database file at path exists.
func SQLiteExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
