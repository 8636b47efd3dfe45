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
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
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

// feedFillOrder: feed is a WITHOUT ROWID b-tree; rows inserted in key order
// append to its last page instead of landing all over it (4× faster for
// 10 million rows on this project's machine).
func (sqliteDialect) feedFillOrder() string { return " ORDER BY 1, 2" }

// pauseFeed drops the feed triggers inside the load's transaction and
// creates them again from their own stored definitions, so there is one
// definition (the migration) to keep. SQLite's DDL is transactional: a
// failed load leaves them as they were.
func (sqliteDialect) pauseFeed(ctx context.Context, tx *sql.Tx) (func() error, error) {
	type trigger struct{ name, sql string }
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'feed\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var triggers []trigger
	for rows.Next() {
		var t trigger
		if err := rows.Scan(&t.name, &t.sql); err != nil {
			rows.Close()
			return nil, err
		}
		triggers = append(triggers, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, t := range triggers {
		if _, err := tx.ExecContext(ctx, "DROP TRIGGER "+t.name); err != nil {
			return nil, err
		}
	}
	return func() error {
		for _, t := range triggers {
			if _, err := tx.ExecContext(ctx, t.sql); err != nil {
				return fmt.Errorf("restore trigger %s: %w", t.name, err)
			}
		}
		return nil
	}, nil
}

func (sqliteDialect) secondsAgo(col string) string {
	return "datetime('now', '-' || " + col + " || ' seconds')"
}

func (sqliteDialect) bulkPrepare(context.Context, *sql.Tx) error { return nil }
func (sqliteDialect) bulkFinish(context.Context, *sql.Tx) error  { return nil }

// bulkStage inserts the staged rows with prepared statements: SQLite runs
// in-process, so there is no round trip to save.
func (sqliteDialect) bulkStage(ctx context.Context, _ *sql.Conn, tx *sql.Tx, b *bulkData) error {
	for _, t := range b.tables() {
		stmt, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)",
			t.name, joinCols(t.cols), placeholders(1, len(t.cols))))
		if err != nil {
			return err
		}
		for i := range t.rows {
			if _, err := stmt.ExecContext(ctx, t.row(i)...); err != nil {
				stmt.Close()
				return fmt.Errorf("stage %s: %w", t.name, err)
			}
		}
		stmt.Close()
	}
	return nil
}

// sqliteFiles are the files that make up an SQLite database.
func sqliteFiles(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + "-journal"}
}

func sqliteExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func sqliteDestroy(path string) error {
	for _, f := range sqliteFiles(path) {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", f, err)
		}
	}
	return nil
}
