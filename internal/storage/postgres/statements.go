package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// What happens to each statement: its timeout, its cancellation, counting
// it, and whether it is prepared.

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

// tracer bounds each statement with a context deadline and counts the
// statements and round trips. A statement_timeout startup parameter would
// be simpler, but PgBouncer refuses connections that send one (or, told to
// ignore it, drops it), and a session SET leaks across a transaction-mode
// pool.
type tracer struct {
	timeout time.Duration // 0: none
	calls   *Calls
}

type timeoutCancelKey struct{}

func (t *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	t.calls.add(1, 1)
	if t.timeout <= 0 {
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	return context.WithValue(ctx, timeoutCancelKey{}, cancel)
}

func (t *tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if cancel, ok := ctx.Value(timeoutCancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// A statement prepared on first use (PreparedOn, or a direct connection)
// costs one round trip of its own.
func (t *tracer) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	t.calls.add(0, 1)
	return ctx
}

func (t *tracer) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

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
