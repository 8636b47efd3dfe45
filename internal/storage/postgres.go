package storage

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

func pgConfig(opts Options) (*pgx.ConnConfig, error) {
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
	// No named prepared statements and no cached descriptions: works behind
	// a transaction-mode pooler, and every statement is planned for its
	// arguments (the same change as branch pgprod; the lead keeps one).
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.StatementCacheCapacity = 0
	cfg.DescriptionCacheCapacity = 0
	return cfg, nil
}

func openPostgres(ctx context.Context, opts Options) (*Store, error) {
	cfg, err := pgConfig(opts)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	n := opts.MaxConns
	if n <= 0 {
		n = 10
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, explainPG(err, cfg)
	}
	return &Store{r: db, w: db, rd: db, dialect: postgresDialect{}}, nil
}

// connectError is a connection failure explained for an operator; the
// driver's error stays underneath for callers that test it.
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string { return e.msg }
func (e *connectError) Unwrap() error { return e.err }

// explainPG turns a connection failure into a message that names the fix.
func explainPG(err error, cfg *pgx.ConnConfig) error {
	msg := explainPGMessage(err, cfg)
	if msg == "" {
		return fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	return &connectError{msg: msg, err: err}
}

func explainPGMessage(err error, cfg *pgx.ConnConfig) string {
	where := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	var pgErr *pgconn.PgError
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "28P01":
		return fmt.Sprintf("PostgreSQL at %s rejected the password for role %q: check POSTGRESQL_DATABASE_PASSWORD (or the password file)", where, cfg.User)
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		return fmt.Sprintf("PostgreSQL database %q does not exist on %s: create it with `insta485 db create`, or ask the administrator to `CREATE DATABASE %s OWNER %s`", cfg.Database, where, cfg.Database, cfg.User)
	case errors.As(err, &pgErr) && pgErr.Code == "28000":
		return fmt.Sprintf("PostgreSQL at %s refused role %q (%s): check the user name and pg_hba.conf, and whether the server requires TLS (sslmode=verify-full)", where, cfg.User, pgErr.Message)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve PostgreSQL host %q: check the host name in the database URL or POSTGRESQL_DATABASE_HOST", cfg.Host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing is listening for PostgreSQL on %s: start the server or fix the host and port", where)
	case errors.As(err, &unknownAuthority):
		return fmt.Sprintf("the certificate of PostgreSQL at %s is not signed by a trusted CA: set the CA bundle (sslrootcert, for AWS RDS the region's global-bundle.pem)", where)
	case errors.As(err, &hostnameErr):
		return fmt.Sprintf("the certificate of PostgreSQL at %s does not match host %q: connect with the host name the certificate was issued for", where, cfg.Host)
	case strings.Contains(err.Error(), "server refused TLS connection"):
		return fmt.Sprintf("PostgreSQL at %s does not offer TLS: enable ssl on the server or use sslmode=disable for a local server", where)
	case strings.Contains(err.Error(), "no pg_hba.conf entry"):
		return fmt.Sprintf("PostgreSQL at %s has no pg_hba.conf entry for this connection: the server may require TLS (sslmode=verify-full) or a different role", where)
	}
	return ""
}

type postgresDialect struct{}

func (postgresDialect) name() string          { return "postgres" }
func (postgresDialect) migrationsDir() string { return "migrations/postgres" }

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func (postgresDialect) isUniqueViolation(err error) bool     { return pgCode(err) == "23505" }
func (postgresDialect) isForeignKeyViolation(err error) bool { return pgCode(err) == "23503" }

func (postgresDialect) forUpdate() string { return " FOR UPDATE" }

// feedFillOrder: none; the bulk load builds feed's key after the fill.
func (postgresDialect) feedFillOrder() string { return "" }

// pauseFeed disables the feed triggers and drops feed's key for the rest
// of the load's transaction (the tables are locked by the load anyway):
// filling feed in one INSERT … SELECT and building its index once at the
// end is much faster than growing the index row by row.
func (postgresDialect) pauseFeed(ctx context.Context, tx *sql.Tx) (func() error, error) {
	err := execAll(ctx, tx, []string{
		"ALTER TABLE posts DISABLE TRIGGER USER",
		"ALTER TABLE following DISABLE TRIGGER USER",
		"ALTER TABLE users DISABLE TRIGGER USER",
		"ALTER TABLE feed DROP CONSTRAINT feed_pkey",
	})
	if err != nil {
		return nil, err
	}
	return func() error {
		return execAll(ctx, tx, []string{
			"ALTER TABLE feed ADD CONSTRAINT feed_pkey PRIMARY KEY (username, postid)",
			"ALTER TABLE posts ENABLE TRIGGER USER",
			"ALTER TABLE following ENABLE TRIGGER USER",
			"ALTER TABLE users ENABLE TRIGGER USER",
			"ANALYZE feed",
		})
	}, nil
}

func (postgresDialect) secondsAgo(col string) string {
	return "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC') - " + col + " * INTERVAL '1 second'"
}

// bulkStage copies the staged rows with COPY, the fastest way into PostgreSQL.
func (postgresDialect) bulkStage(ctx context.Context, conn *sql.Conn, _ *sql.Tx, b *bulkData) error {
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		for _, t := range b.tables() {
			i := 0
			src := pgx.CopyFromFunc(func() ([]any, error) {
				if i == t.rows {
					return nil, nil
				}
				i++
				return t.row(i - 1), nil
			})
			if _, err := pc.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, src); err != nil {
				return fmt.Errorf("copy into %s: %w", t.name, err)
			}
		}
		return nil
	})
}

// pgBulkConstraints are set aside during a bulk load: checking a foreign key
// or growing an index row by row is what makes loading millions of rows slow,
// while re-adding them afterwards checks every row in one pass.
var pgBulkConstraints = []struct{ table, name, def string }{
	{"posts", "posts_owner_fkey", "FOREIGN KEY (owner) REFERENCES users (username) ON DELETE CASCADE"},
	{"following", "following_follower_fkey", "FOREIGN KEY (follower) REFERENCES users (username) ON DELETE CASCADE"},
	{"following", "following_followee_fkey", "FOREIGN KEY (followee) REFERENCES users (username) ON DELETE CASCADE"},
	{"comments", "comments_owner_fkey", "FOREIGN KEY (owner) REFERENCES users (username) ON DELETE CASCADE"},
	{"comments", "comments_postid_fkey", "FOREIGN KEY (postid) REFERENCES posts (postid) ON DELETE CASCADE"},
	{"likes", "likes_owner_fkey", "FOREIGN KEY (owner) REFERENCES users (username) ON DELETE CASCADE"},
	{"likes", "likes_postid_fkey", "FOREIGN KEY (postid) REFERENCES posts (postid) ON DELETE CASCADE"},
}

var pgBulkIndexes = []struct{ name, def string }{
	{"posts_owner_postid", "CREATE INDEX posts_owner_postid ON posts (owner, postid)"},
	{"posts_filename", "CREATE INDEX posts_filename ON posts (filename)"},
	{"following_followee", "CREATE INDEX following_followee ON following (followee, follower)"},
	{"comments_postid", "CREATE INDEX comments_postid ON comments (postid, commentid)"},
	{"comments_owner", "CREATE INDEX comments_owner ON comments (owner)"},
	{"likes_postid_owner", "CREATE UNIQUE INDEX likes_postid_owner ON likes (postid, owner)"},
	{"likes_owner", "CREATE INDEX likes_owner ON likes (owner)"},
}

func (postgresDialect) bulkPrepare(ctx context.Context, tx *sql.Tx) error {
	stmts := []string{"SET LOCAL maintenance_work_mem = '256MB'"}
	for _, c := range pgBulkConstraints {
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", c.table, c.name))
	}
	for _, ix := range pgBulkIndexes {
		stmts = append(stmts, "DROP INDEX "+ix.name)
	}
	return execAll(ctx, tx, stmts)
}

func (postgresDialect) bulkFinish(ctx context.Context, tx *sql.Tx) error {
	var stmts []string
	for _, ix := range pgBulkIndexes {
		stmts = append(stmts, ix.def)
	}
	for _, c := range pgBulkConstraints {
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", c.table, c.name, c.def))
	}
	stmts = append(stmts, "ANALYZE users", "ANALYZE posts", "ANALYZE following", "ANALYZE comments", "ANALYZE likes")
	return execAll(ctx, tx, stmts)
}

func execAll(ctx context.Context, tx *sql.Tx, stmts []string) error {
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
