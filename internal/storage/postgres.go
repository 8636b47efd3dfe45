package storage

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
)

// DefaultConnectTimeout bounds connecting to PostgreSQL when neither the
// settings nor the URL say otherwise: a server that accepts the connection
// and never answers must not hang insta485 forever.
const DefaultConnectTimeout = 10 * time.Second

// PGConfig parses the URL (pgx also reads the libpq environment variables
// PGHOST, PGSSLMODE, PGSSLROOTCERT, PGCONNECT_TIMEOUT… for what the URL
// leaves out) and makes the connections pooler-safe. The statements sent
// are counted in calls (nil: not counted).
func pgConfig(opts Options, calls *Calls) (*pgx.ConnConfig, error) {
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
	// Pooler-safe until openPostgres knows better: a transaction-mode
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
	cfg.Tracer = &pgTracer{timeout: opts.StatementTimeout, calls: calls}
	return cfg, nil
}

// cancelRequestHandler is what insta485 does when a statement's context
// ends: send PostgreSQL a cancel request, and break the connection only if
// the statement has not ended cancelledStatementWait later.
//
// It is pgx's CancelRequestContextWatcherHandler except in one thing: that
// one abandons the cancel request (closing its connection) as soon as the
// statement returns, which can be before the pooler has passed the request
// on, and PgBouncer 1.18 (Debian 12's) then crashes ("bad client state"),
// dropping every client. Here the cancel request always runs to its end.
type cancelRequestHandler struct {
	conn     *pgconn.PgConn
	done     chan struct{}
	deadline time.Time
}

const cancelRequestGrace = 5 * time.Second

// cancelledStatementWait is how long a cancelled statement may take to end
// before its connection is broken: a server that answers ends it in
// milliseconds, a frozen one never does, and the request waiting on it
// must get its 503 soon.
const cancelledStatementWait = time.Second

func (h *cancelRequestHandler) HandleCancel(context.Context) {
	h.done = make(chan struct{})
	h.deadline = time.Now().Add(cancelledStatementWait)
	_ = h.conn.Conn().SetDeadline(h.deadline)
	go func() {
		defer close(h.done)
		ctx, cancel := context.WithTimeout(context.Background(), cancelRequestGrace)
		defer cancel()
		_ = h.conn.CancelRequest(ctx)
		// The server may deliver the cancel a moment after answering it;
		// wait so it cannot hit this connection's next statement (pgx
		// waits the same).
		time.Sleep(100 * time.Millisecond)
	}()
}

func (h *cancelRequestHandler) HandleUnwatchAfterCancel() {
	// Only a connection that lives on must not meet a late cancel. Past
	// the deadline the statement's read has failed and pgx throws the
	// connection away: no need to wait for the cancel request (which a
	// frozen server holds for the whole cancelRequestGrace).
	if time.Now().Before(h.deadline) {
		<-h.done
	}
	_ = h.conn.Conn().SetDeadline(time.Time{})
}

// pgTracer bounds each statement with a context deadline and counts the
// statements and round trips. A statement_timeout startup parameter would
// be simpler, but PgBouncer refuses connections that send one (or, told to
// ignore it, drops it), and a session SET leaks across a transaction-mode
// pool.
type pgTracer struct {
	timeout time.Duration // 0: none
	calls   *Calls
}

type timeoutCancelKey struct{}

func (t *pgTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	t.calls.add(1, 1)
	if t.timeout <= 0 {
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	return context.WithValue(ctx, timeoutCancelKey{}, cancel)
}

func (t *pgTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if cancel, ok := ctx.Value(timeoutCancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// A statement prepared on first use (PreparedOn, or a direct connection)
// costs one round trip of its own.
func (t *pgTracer) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	t.calls.add(0, 1)
	return ctx
}

func (t *pgTracer) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// Calls counts what a store sent to PostgreSQL, for the benchmark and the
// metrics: statements (BEGIN and COMMIT included) and network round trips
// (a statement, or preparing one). SQLite runs in the process and counts
// nothing.
type Calls struct {
	statements, roundTrips atomic.Uint64
}

func (c *Calls) add(statements, roundTrips uint64) {
	if c != nil {
		c.statements.Add(statements)
		c.roundTrips.Add(roundTrips)
	}
}

// Statements returns how many statements were sent.
func (c *Calls) Statements() uint64 { return c.statements.Load() }

// RoundTrips returns how many round trips they took.
func (c *Calls) RoundTrips() uint64 { return c.roundTrips.Load() }

// PreparedMode says whether PostgreSQL statements are prepared once per
// connection and their plans reused.
type PreparedMode int

const (
	// PreparedAuto prepares statements on a direct connection and sends
	// unnamed ones through a connection pooler, as found when connecting.
	PreparedAuto PreparedMode = iota
	// PreparedOn always prepares: for a direct connection, or a pooler
	// that keeps prepared statements (PgBouncer 1.21+ with
	// max_prepared_statements).
	PreparedOn
	// PreparedOff never prepares.
	PreparedOff
)

// ParsePreparedMode reads auto, true or false (and the other spellings
// strconv.ParseBool takes).
func ParsePreparedMode(v string) (PreparedMode, error) {
	if strings.EqualFold(v, "auto") || v == "" {
		return PreparedAuto, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return 0, fmt.Errorf("want auto, true or false, got %q", v)
	}
	if b {
		return PreparedOn, nil
	}
	return PreparedOff, nil
}

func (m PreparedMode) String() string {
	switch m {
	case PreparedOn:
		return "true"
	case PreparedOff:
		return "false"
	}
	return "auto"
}

// behindPooler reports whether cfg reaches PostgreSQL through a connection
// pooler rather than directly. A pooler (PgBouncer, RDS Proxy, Supavisor,
// Odyssey) answers the login itself and hands the client a cancel key of
// its own, so the process id in it is not that of the server process
// running the client's statements; a direct connection's is. A pooler that
// passed the server's key through would be in session mode, where
// prepared statements are safe anyway.
func behindPooler(ctx context.Context, cfg *pgx.ConnConfig) (bool, error) {
	probe := cfg.Copy()
	probe.Tracer = nil
	conn, err := pgx.ConnectConfig(ctx, probe)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var pid int32
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		return false, err
	}
	return uint32(pid) != conn.PgConn().PID(), nil
}

// preparedConfig makes cfg prepare each statement once per connection and
// reuse its plan.
func preparedConfig(cfg *pgx.ConnConfig) {
	cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	cfg.StatementCacheCapacity = 512
	cfg.DescriptionCacheCapacity = 512
}

// PGConfig is pgConfig for the operator tools (internal/dbadmin), whose
// statements are not counted.
func PGConfig(opts Options) (*pgx.ConnConfig, error) { return pgConfig(opts, nil) }

// TLSWarning returns a warning when connections to a PostgreSQL server that
// is not on this machine do not verify its certificate and host name, and
// "" otherwise (or for SQLite).
func TLSWarning(opts Options) string {
	if !IsPostgres(opts.DSN) {
		return ""
	}
	cfg, err := pgConfig(opts, nil)
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

func openPostgres(ctx context.Context, opts Options) (*Store, error) {
	calls := new(Calls)
	cfg, err := pgConfig(opts, calls)
	if err != nil {
		return nil, err
	}
	prepared := opts.PreparedStatements == PreparedOn
	if opts.PreparedStatements == PreparedAuto {
		pooled, err := behindPooler(ctx, cfg)
		if err != nil {
			return nil, ExplainPG(err, cfg)
		}
		if prepared = !pooled; prepared {
			preparedConfig(cfg)
		}
	}
	db := sql.OpenDB(primaryConnector{Connector: stdlib.GetConnector(*cfg), wait: cfg.ConnectTimeout})
	n := opts.MaxConns
	if n <= 0 {
		n = 10
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, ExplainPG(err, cfg)
	}
	return &Store{primary: db, latestDB: db, latest: db, dialect: postgresDialect{}, pgUser: cfg.User, pgDatabase: cfg.Database,
		calls: calls, prepared: prepared}, nil
}

// connectError is a connection failure explained for an operator; the
// driver's error stays underneath for callers that test it.
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string { return e.msg }
func (e *connectError) Unwrap() error { return e.err }

// ExplainPG turns a connection failure into a message that names the fix.
func ExplainPG(err error, cfg *pgx.ConnConfig) error {
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
	case errors.As(err, &pgErr) && pgErr.Code == "28000" && strings.Contains(pgErr.Message, "no encryption"):
		return fmt.Sprintf("PostgreSQL at %s accepts only TLS connections (pg_hba.conf has no entry without encryption): set INSTA485_DB_SSLMODE=verify-full and INSTA485_DB_SSLROOTCERT to the server's CA bundle", where)
	case errors.As(err, &pgErr) && pgErr.Code == "28000":
		return fmt.Sprintf("PostgreSQL at %s refused role %q (%s): check the user name and pg_hba.conf, and whether the server requires TLS (sslmode=verify-full)", where, cfg.User, pgErr.Message)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve PostgreSQL host %q: check the host name in the database URL or POSTGRESQL_DATABASE_HOST", cfg.Host)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("PostgreSQL at %s did not answer within the connect timeout (%s): check that the host and port are a PostgreSQL server and that no firewall drops the traffic, or raise INSTA485_DB_CONNECT_TIMEOUT", where, cfg.ConnectTimeout)
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

type postgresDialect struct{}

func (postgresDialect) name() string          { return "postgres" }
func (postgresDialect) migrationsDir() string { return "migrations/postgres" }

func (postgresDialect) isUniqueViolation(err error) bool     { return pgCode(err) == "23505" }
func (postgresDialect) isForeignKeyViolation(err error) bool { return pgCode(err) == "23503" }

func (postgresDialect) forUpdate() string { return " FOR UPDATE" }

func (postgresDialect) jsonObject(pairs ...string) string {
	return "json_build_object(" + strings.Join(pairs, ", ") + ")"
}

func (postgresDialect) jsonArray(expr, order string) string {
	return "COALESCE(json_agg(" + expr + " ORDER BY " + order + "), '[]'::json)"
}

func (postgresDialect) jsonSub(query string) string { return "(" + query + ")" }

// epoch: a timestamp without time zone holds UTC here, and extract reads
// it as such.
func (postgresDialect) epoch(col string) string {
	return "floor(extract(epoch FROM " + col + "))::bigint"
}
