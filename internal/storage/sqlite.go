package storage

import (
	"context"
	"os"
	"strings"

	"github.com/insta485/insta485/internal/storage/sqlite"
)

func openSQLite(ctx context.Context, opts Options) (*Store, error) {
	w, r, err := sqlite.Open(ctx, opts.DSN, opts.MaxConns)
	if err != nil {
		return nil, err
	}
	return &Store{primary: w, latestDB: r, latest: sqlite.NewStmtCache(r), dialect: sqliteDialect{}, path: opts.DSN}, nil
}

type sqliteDialect struct{}

func (sqliteDialect) name() string          { return "sqlite" }
func (sqliteDialect) migrationsDir() string { return "migrations/sqlite" }

func (sqliteDialect) isUniqueViolation(err error) bool     { return sqlite.IsUniqueViolation(err) }
func (sqliteDialect) isForeignKeyViolation(err error) bool { return sqlite.IsForeignKeyViolation(err) }

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
