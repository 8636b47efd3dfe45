package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/insta485/insta485/internal/storage/postgres"
	"github.com/insta485/insta485/internal/storage/sqlite"
)

// Unavailable reports whether err means the database could not be reached
// or is too busy right now (a stopped or restarting server, a refused or
// broken connection, a full connection pool, a lock held past the busy
// timeout), as opposed to a query that is wrong. The HTTP layers answer it
// with 503 and Retry-After: the client should simply try again. What each
// engine reports is read in internal/storage/postgres and
// internal/storage/sqlite.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var netErr net.Error
	switch {
	case errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded):
		return true
	}
	if unavailable, known := postgres.Unavailable(err); known {
		return unavailable
	}
	if sqlite.Unavailable(err) {
		return true
	}
	// pgx reports a connection closed under a query in words only.
	return strings.Contains(err.Error(), "conn closed")
}
