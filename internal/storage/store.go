// Package storage owns insta485's data: the schema and its migrations, every
// query the product runs, the sample data, bulk loading, and the two backends
// behind one API: SQLite (embedded, the default) and PostgreSQL.
//
// The queries are written once in SQL that both engines accept ($1
// placeholders, RETURNING, ON CONFLICT); what differs between them (schema,
// connection setup, bulk loading, creating and dropping a database) lives in
// sqlite.go and postgres.go.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors callers branch on. The HTTP layers map them to status codes.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
	ErrInvalid   = errors.New("invalid")
	// ErrExists is returned by Create when the database already holds the schema.
	ErrExists = errors.New("database already exists")
	// ErrNoSchema is returned when the database has no insta485 tables yet.
	ErrNoSchema = errors.New("database has no insta485 schema: run `insta485 db create`")
)

// Options says which database to use and how.
type Options struct {
	// DSN is an SQLite file path or a postgres:// URL (which may carry
	// sslmode, sslrootcert and the other libpq parameters).
	DSN string
	// Password, when set, overrides any password in DSN, so it can come from
	// the environment or a file instead of the URL.
	Password string
	// MaxConns bounds the connection pool (0 picks a default).
	MaxConns int
}

// IsPostgres reports whether dsn names a PostgreSQL server rather than an
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Store is the one storage API the rest of insta485 uses.
type Store struct {
	// r serves reads and w serves writes. On SQLite w is a single connection,
	// so writers queue in Go instead of failing with "database is locked";
	// on PostgreSQL both are the same pool.
	r, w *sql.DB
	// rd runs the hot reads: r itself, or on SQLite r with its statements
	// kept prepared (stmtcache.go).
	rd      reader
	dialect dialect
}

// dialect is what differs between the backends.
type dialect interface {
	name() string
	migrationsDir() string
	isUniqueViolation(error) bool
	isForeignKeyViolation(error) bool
	// pauseFeed stops the feed triggers for the rest of a bulk load's
	// transaction (and sets aside what slows a bulk fill of feed); resume
	// puts them back. The loader rebuilds feed in between.
	pauseFeed(ctx context.Context, tx *sql.Tx) (resume func() error, err error)
	// feedFillOrder ends the statement that fills feed: the order its rows
	// are best inserted in.
	feedFillOrder() string
	// forUpdate ends a SELECT that reads a row a transaction is about to
	// change, locking it against concurrent transactions where the engine
	// needs that (PostgreSQL); SQLite's single writer already serialises.
	forUpdate() string
	// secondsAgo is an SQL expression for the UTC time col seconds ago.
	secondsAgo(col string) string
	// bulkStage fills the bulk loader's staging tables.
	bulkStage(ctx context.Context, conn *sql.Conn, tx *sql.Tx, b *bulkData) error
	// bulkPrepare and bulkFinish bracket a bulk load, for backends that load
	// faster with constraints set aside.
	bulkPrepare(ctx context.Context, tx *sql.Tx) error
	bulkFinish(ctx context.Context, tx *sql.Tx) error
}

// Open connects to the database named by opts and checks that its schema is
// current. It does not create anything; see Create.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if !IsPostgres(opts.DSN) && !sqliteExists(opts.DSN) {
		return nil, ErrNoSchema // without leaving an empty file behind
	}
	s, err := Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := s.CheckSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Connect connects to the database named by opts without checking its
// schema, for tools that create or migrate it.
func Connect(ctx context.Context, opts Options) (*Store, error) {
	if IsPostgres(opts.DSN) {
		return openPostgres(ctx, opts)
	}
	return openSQLite(ctx, opts)
}

// Backend names the engine: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.dialect.name() }

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return err
	}
	return s.w.PingContext(ctx)
}

// Close releases every connection.
func (s *Store) Close() error {
	if c, ok := s.rd.(*stmtCache); ok {
		c.close()
	}
	err := s.r.Close()
	if s.w != s.r {
		err = errors.Join(err, s.w.Close())
	}
	return err
}

// inTx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// utc normalises a scanned timestamp: both engines store UTC without a zone.
func utc(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}
