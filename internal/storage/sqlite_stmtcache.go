package storage

import (
	"context"
	"database/sql"
)

// reader runs reads: a pool, a replica's pool, or SQLite's statement cache
// (sqlite.StmtCache).
type reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
