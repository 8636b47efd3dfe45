package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "modernc.org/sqlite/lib"
)

// Unavailable reports whether err means the database could not be reached
// or is too busy right now (a stopped or restarting server, a refused or
// broken connection, a full connection pool, a lock held past the busy
// timeout), as opposed to a query that is wrong. The HTTP layers answer it
// with 503 and Retry-After: the client should simply try again.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return true
	}
	if code := pgCode(err); code != "" {
		// Class 08: connection exceptions; 57P01–57P03: the server is
		// shutting down or starting; 53300: too many connections; 25006:
		// the server has become read-only (a demoted primary).
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300" || code == "25006"
	}
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
		return true
	}
	// pgx reports a connection closed under a query in words only.
	return strings.Contains(err.Error(), "conn closed")
}
