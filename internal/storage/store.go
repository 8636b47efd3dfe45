// Package storage is what serving requests use of the database: every query
// the product runs, the connections (a read pool and a single writer on
// SQLite, pools on the PostgreSQL primary and its read replicas), the
// read-your-writes contract that routes reads between them
// (readyourwrites.go), the one-statement reads that check the viewer too
// (reads.go), and the schema migrations and their runner (migrate.go,
// migrations/). Operator tools (create, destroy, copy, bulk load, dump,
// sample data, the privilege check a PostgreSQL role must pass) are
// internal/dbadmin, on top of this package (operator.go is their seam);
// dbadmin.Open is how the rest of insta485 opens a store.
//
// The queries are written once in SQL that both engines accept ($1
// placeholders, RETURNING, ON CONFLICT). Code that only makes sense on one
// engine lives in files named for it: sqlite.go (the dialect) and
// postgres*.go (the dialect, retrying across a failover); backuplock_*.go
// is the SQLite backup lease's file lock. Below this package, one per
// engine, is what it takes to reach the database: internal/storage/sqlite
// (connection settings, the writer and the read pool, the statement cache,
// error codes) and internal/storage/postgres (connection settings,
// poolers, statement counts, connect errors, outage codes); and
// internal/storage/replicas keeps PostgreSQL's read replicas (health, lag,
// routing). No file here imports a database driver.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/insta485/insta485/internal/storage/postgres"
	"github.com/insta485/insta485/internal/storage/replicas"
	"github.com/insta485/insta485/internal/storage/sqlite"
)

// Errors callers branch on. The HTTP layers map them to status codes.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
	ErrInvalid   = errors.New("invalid")
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
	// ConnectTimeout bounds connecting to PostgreSQL, TLS and login
	// included. A connect_timeout in the URL (or PGCONNECT_TIMEOUT) wins;
	// 0 means postgres.DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// StatementTimeout, when positive, bounds every PostgreSQL statement:
	// past it the client cancels the statement on the server. It is
	// enforced by insta485 rather than sent as a startup parameter, which
	// connection poolers such as PgBouncer reject.
	StatementTimeout time.Duration
	// PreparedStatements says whether each PostgreSQL connection prepares
	// its statements once and reuses their plans. The default, auto, does
	// on a direct connection and sends unnamed statements (planned each
	// time) through a transaction-mode pooler (PgBouncer, RDS Proxy),
	// which cannot keep them (internal/storage/postgres). Replicas
	// prepare only when it is on.
	PreparedStatements postgres.PreparedMode
	// Replicas are postgres:// URLs of read-only streaming replicas of the
	// primary (DSN), connected with the same Password, timeouts and pool
	// size. Open sends reads there that need not see the newest data (see
	// internal/storage/replicas); Connect ignores them.
	Replicas []string
	// ReplicaMaxLag is how far behind the primary a replica may be and
	// still serve reads (0: replicas.DefaultMaxLag).
	ReplicaMaxLag time.Duration
	// ReplicaPoll is how often each replica's replay position is read
	// (0: replicas.DefaultPoll).
	ReplicaPoll time.Duration
	// Log receives replica state changes and writes settled after a
	// failover (nil: slog.Default()).
	Log *slog.Logger
}

// IsPostgres reports whether dsn names a PostgreSQL server rather than an
// SQLite file.
func IsPostgres(dsn string) bool { return postgres.IsURL(dsn) }

// Store is the one storage API the rest of insta485 uses.
type Store struct {
	// The handles are named for what they guarantee:
	//
	// primary runs writes and transactions. On SQLite it is a single
	// connection, so writers queue in Go instead of failing with "database
	// is locked"; on PostgreSQL it is the primary's pool.
	primary *sql.DB
	// latestDB sees every write committed by any instance, at once: never
	// a replica. On PostgreSQL it is primary; on SQLite the read-only pool
	// (WAL readers see the newest commit).
	latestDB *sql.DB
	// latest runs reads on latestDB, on SQLite with their statements kept
	// prepared (sqlite.StmtCache). Security state (sessions, password hashes,
	// login failures) is read here, so that a logout or password change
	// holds on every instance at once.
	latest reader
	// Reads that may be a little behind go through readOwnWrites
	// (readyourwrites.go): to a replica that has replayed the request's own
	// writes, else to the primary.
	dialect dialect
	// pgUser and pgDatabase name the role and database on PostgreSQL, for
	// messages that say which GRANT to run.
	pgUser, pgDatabase string
	// path is the SQLite database file ("" on PostgreSQL).
	path string
	// replicas, when configured, serve reads (internal/storage/replicas);
	// lastWrite is the primary's WAL position after this process's latest
	// write.
	replicas  *replicas.Set
	lastWrite atomic.Uint64
	// calls counts what is sent to PostgreSQL (nil on SQLite); prepared
	// says whether the primary's connections prepare statements.
	calls    *postgres.Calls
	prepared bool
	// log receives what an operator may want to know of a failover (nil:
	// slog.Default()).
	log *slog.Logger
	// beforeSettle, set by tests only, runs between a write whose outcome
	// is unknown and the question whether it took effect.
	beforeSettle func()
}

// Calls returns the counts of statements and round trips sent to
// PostgreSQL (replicas included), or nil on SQLite.
func (s *Store) Calls() *postgres.Calls { return s.calls }

// PreparesStatements reports whether the primary's connections prepare
// their statements and reuse the plans (see Options.PreparedStatements).
func (s *Store) PreparesStatements() bool { return s.prepared }

// dialect is what differs between the backends when serving requests. What
// differs for operator tools (bulk loading, copying) is internal/dbadmin's.
type dialect interface {
	name() string
	migrationsDir() string
	isUniqueViolation(error) bool
	isForeignKeyViolation(error) bool
	// forUpdate ends a SELECT that reads a row a transaction is about to
	// change, locking it against concurrent transactions where the engine
	// needs that (PostgreSQL); SQLite's single writer already serialises.
	forUpdate() string
	// jsonObject builds a JSON object of "'key', value" pairs;
	// jsonArray aggregates expr over a query's rows in order (an empty
	// array for none); jsonSub embeds a scalar query's JSON result in
	// another JSON value; epoch is a timestamp column in Unix seconds.
	jsonObject(pairs ...string) string
	jsonArray(expr, order string) string
	jsonSub(query string) string
	epoch(col string) string
}

// Open connects to the database named by opts, runs checkAccess (the
// role's privileges: see dbadmin.Open, which is how the rest of insta485
// opens a store) and checks that the schema is current. It does not create
// anything; see dbadmin.Create.
func Open(ctx context.Context, opts Options, checkAccess func(context.Context, *Store) error) (*Store, error) {
	if !IsPostgres(opts.DSN) && !SQLiteExists(opts.DSN) {
		return nil, ErrNoSchema // without leaving an empty file behind
	}
	s, err := Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	// Privileges first: reading the schema version of tables the role may
	// not read would fail with a bare "permission denied".
	if err := checkAccess(ctx, s); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.CheckSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if len(opts.Replicas) > 0 {
		if err := s.openReplicas(ctx, opts); err != nil {
			s.Close()
			return nil, err
		}
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

// Ping checks that the database answers, for readiness probes. Only the
// primary counts: a broken replica is skipped, logged and measured, and
// reads go to the primary meanwhile.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.latestDB.PingContext(ctx); err != nil {
		return err
	}
	return s.primary.PingContext(ctx)
}

// Pools returns the store's connection pools by role, for monitoring: on
// SQLite "read" (the read-only pool) and "write" (the single writer), on
// PostgreSQL one "primary" pool serving both. Each pool appears once.
func (s *Store) Pools() map[string]*sql.DB {
	pools := map[string]*sql.DB{"read": s.latestDB, "write": s.primary}
	if s.latestDB == s.primary {
		pools = map[string]*sql.DB{"primary": s.primary}
	}
	if s.replicas != nil {
		for i, db := range s.replicas.Pools() {
			pools[fmt.Sprintf("replica%d", i+1)] = db
		}
	}
	return pools
}

// Close releases every connection.
func (s *Store) Close() error {
	var err error
	if s.replicas != nil {
		err = s.replicas.Close()
	}
	if c, ok := s.latest.(*sqlite.StmtCache); ok {
		c.Close()
	}
	err = errors.Join(err, s.latestDB.Close())
	if s.primary != s.latestDB {
		err = errors.Join(err, s.primary.Close())
	}
	return err
}

// inTx runs fn in a write transaction, committing when fn returns nil. A
// transaction that failed on a server that can no longer take writes runs
// once more on a fresh connection (retryWrite), so fn must start afresh on
// each call.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	err := s.retryWrite(func() error {
		tx, err := s.primary.BeginTx(ctx, nil)
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
	})
	if err != nil {
		return err
	}
	s.afterWrite(ctx)
	return nil
}

// Placeholders returns "$from, $from+1, …" for n arguments.
func Placeholders(from, n int) string {
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
