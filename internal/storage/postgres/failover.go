package postgres

// The moment of a failover, as the connections see it (what the store
// does about it is internal/storage's postgres_failover.go).

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// primaryConnector opens connections to the primary, waiting for one while
// a failover is under way: a new connection that reaches only servers not
// taking writes yet (a standby about to be promoted, a primary shutting
// down) waits for the new primary, as long as the caller can wait (its
// context's deadline, at most the connect timeout).
type primaryConnector struct {
	driver.Connector
	// wait bounds the waiting when the caller's context has no earlier
	// deadline: the connect timeout.
	wait time.Duration
}

func (c primaryConnector) Connect(ctx context.Context) (driver.Conn, error) {
	deadline := time.Now().Add(c.wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	pause := 25 * time.Millisecond
	for {
		conn, err := c.Connector.Connect(ctx)
		if err == nil || !awaitingPrimary(err) || ctx.Value(noWaitKey{}) != nil || time.Now().Add(pause).After(deadline) {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(pause):
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

// awaitingPrimary reports a connection attempt that reached a server which
// is not the writable primary yet but may be in a moment: a standby (which
// target_session_attrs=read-write turns down), a server starting up or
// shutting down, or a proxy that took the connection and closed it (HAProxy
// with no primary behind it). A refused or unreachable server alone is not
// waited for: a database that is simply down answers 503 at once.
func awaitingPrimary(err error) bool {
	return errors.Is(err, pgconn.ErrReadOnlyConnection) || Code(err) == "57P03" ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

type noWaitKey struct{}

// NoWait returns a context in which the primary's pool tries to connect
// once instead of waiting for a new primary, for a read that has somewhere
// else to go.
func NoWait(ctx context.Context) context.Context {
	return context.WithValue(ctx, noWaitKey{}, true)
}

// RetryableWrite reports a write that failed without taking effect because
// its connection was on a server that can no longer take writes: 25006, a
// read-only server (a primary demoted and restarted as a standby, or one
// set read-only); 57P01 and 57P02, the server terminated the session for
// a shutdown, aborting its transaction. (A session terminated while its
// commit waits for the synchronous standby is told nothing but a warning
// and then loses its connection: that write may have committed, and is not
// retried.)
func RetryableWrite(err error) bool {
	switch Code(err) {
	case "25006", "57P01", "57P02":
		return true
	}
	return false
}

// OutcomeUnknown reports a write whose connection broke after the
// statement went out, with no error from the server: it may have
// committed. The case that matters is a session ended while its commit
// waited for the synchronous standby (the fast shutdown of a planned
// switchover, or pg_terminate_backend): PostgreSQL sends the statement's
// result and a warning that the transaction "has already committed
// locally", then closes the connection. Whether the write is on the
// primary that follows can only be asked of it.
func OutcomeUnknown(err error) bool {
	if err == nil || Code(err) != "" || pgconn.SafeToRetry(err) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "conn closed")
}
