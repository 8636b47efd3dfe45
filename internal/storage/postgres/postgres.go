// Package postgres is what it takes to reach PostgreSQL: the pgx settings
// built from a postgres:// URL (pooler-safe, a statement timeout the client
// enforces, cancel requests that reach the server through a pooler),
// finding whether a pooler sits in between and preparing statements only
// when none does, counting statements and round trips, the pools on a
// primary and on its replicas, waiting for a new primary while a failover
// is under way, explaining a failed connection to an operator, and the
// SQLSTATE codes that mean an outage. The SQL insta485 runs and the dialect
// that shapes it are internal/storage's; the operator tools' PostgreSQL
// code is internal/dbadmin's postgres_*.go.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsURL reports whether dsn names a PostgreSQL server rather than an
// SQLite file.
func IsURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Options is what connecting takes; internal/storage.Options documents
// each field.
type Options struct {
	DSN, Password                    string
	ConnectTimeout, StatementTimeout time.Duration
	PreparedStatements               PreparedMode
}

// DefaultConnectTimeout bounds connecting to PostgreSQL when neither the
// settings nor the URL say otherwise: a server that accepts the connection
// and never answers must not hang insta485 forever.
const DefaultConnectTimeout = 10 * time.Second

// Config parses the URL (pgx also reads the libpq environment variables
// PGHOST, PGSSLMODE, PGSSLROOTCERT, PGCONNECT_TIMEOUT… for what the URL
// leaves out) and makes the connections pooler-safe. The statements sent
// are counted in calls (nil: not counted, as for the operator tools).
func Config(opts Options, calls *Calls) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(opts.DSN)
	if err != nil {
		// pgx's message can echo the URL, password and all: name the
		// problem without it.
		for _, param := range []string{"sslrootcert", "sslcert", "sslkey", "sslmode", "port", "connect_timeout"} {
			if strings.Contains(err.Error(), param) {
				return nil, fmt.Errorf("the PostgreSQL URL's %s is invalid (sslmode takes disable, require, verify-ca or verify-full; sslrootcert a readable CA file)", param)
			}
		}
		return nil, errors.New("the PostgreSQL URL is malformed: expected postgres://user@host:port/dbname?sslmode=…")
	}
	if opts.Password != "" {
		cfg.Password = opts.Password
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = opts.ConnectTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	// Pooler-safe until OpenPrimary knows better: a transaction-mode
	// pooler (PgBouncer, RDS Proxy) hands each transaction to any server
	// connection, so nothing may depend on session state. pgx's default
	// caches named prepared statements per connection, which then collide
	// ("prepared statement … already exists") or are missing. Exec mode
	// sends each query with the unnamed statement in one round trip; the
	// price is planning every query. preparedConfig trades that back.
	if opts.PreparedStatements != PreparedOn {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
		cfg.StatementCacheCapacity = 0
		cfg.DescriptionCacheCapacity = 0
	}
	// A cancelled context (a client gone, a statement timeout) cancels the
	// statement on the server too, through the pooler if there is one,
	// instead of only dropping the connection.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &cancelRequestHandler{conn: c}
	}
	cfg.Tracer = &tracer{timeout: opts.StatementTimeout, calls: calls}
	return cfg, nil
}

// TLSWarning returns a warning when connections to a PostgreSQL server that
// is not on this machine do not verify its certificate and host name, and
// "" otherwise (or for SQLite).
func TLSWarning(opts Options) string {
	if !IsURL(opts.DSN) {
		return ""
	}
	cfg, err := Config(opts, nil)
	if err != nil || isLoopback(cfg.Host) {
		return ""
	}
	if cfg.TLSConfig != nil && !cfg.TLSConfig.InsecureSkipVerify {
		return "" // verify-full
	}
	mode := "disable"
	if cfg.TLSConfig != nil {
		mode = "require, verify-ca or prefer"
		if len(cfg.Fallbacks) > 0 {
			mode = "prefer (the default)"
		}
	}
	return fmt.Sprintf("the PostgreSQL server %s is not on this machine and sslmode is %s: its certificate's host name is not verified, so anyone on the path can pose as it; set INSTA485_DB_SSLMODE=verify-full and INSTA485_DB_SSLROOTCERT to the provider's CA bundle", cfg.Host, mode)
}

func isLoopback(host string) bool {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return true // a Unix socket, or this machine
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// OpenPrimary opens the pool on the primary (at most maxConns connections,
// 0: 10) and checks that it answers. With PreparedAuto it first finds out
// whether a pooler sits in between, and prepares statements only if not;
// prepared says what it chose. Statements are counted in calls.
func OpenPrimary(ctx context.Context, opts Options, maxConns int, calls *Calls) (db *sql.DB, cfg *pgx.ConnConfig, prepared bool, err error) {
	cfg, err = Config(opts, calls)
	if err != nil {
		return nil, nil, false, err
	}
	prepared = opts.PreparedStatements == PreparedOn
	if opts.PreparedStatements == PreparedAuto {
		pooled, err := behindPooler(ctx, cfg)
		if err != nil {
			return nil, nil, false, ExplainConnect(err, cfg)
		}
		if prepared = !pooled; prepared {
			preparedConfig(cfg)
		}
	}
	db = sql.OpenDB(primaryConnector{Connector: stdlib.GetConnector(*cfg), wait: cfg.ConnectTimeout})
	setPoolSize(db, maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, false, ExplainConnect(err, cfg)
	}
	return db, cfg, prepared, nil
}

// OpenReplica opens a pool on a read replica (at most maxConns
// connections, 0: 10) without connecting yet, and names it
// host:port/database, without credentials.
func OpenReplica(opts Options, maxConns int, calls *Calls) (db *sql.DB, name string, err error) {
	cfg, err := Config(opts, calls)
	if err != nil {
		return nil, "", err
	}
	db = stdlib.OpenDB(*cfg)
	setPoolSize(db, maxConns)
	// Connections to a replica that restarted are dead; do not keep
	// idle ones around long.
	db.SetConnMaxIdleTime(time.Minute)
	return db, fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database), nil
}

func setPoolSize(db *sql.DB, n int) {
	if n <= 0 {
		n = 10
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
}
