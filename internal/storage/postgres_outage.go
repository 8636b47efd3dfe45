package storage

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// pgOutageCode reports whether a PostgreSQL error code means the server
// cannot serve right now rather than that the statement is wrong: class
// 08 (connection exceptions), 57P01–57P03 (shutting down or starting),
// 53300 (too many connections). It is the one list of outage codes: the
// HTTP answer (Unavailable) and replica health (connectionLost) both use it.
func pgOutageCode(code string) bool {
	return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// pgUnavailable classifies err as PostgreSQL reports it: known is false
// when err carries nothing from PostgreSQL or pgx.
func pgUnavailable(err error) (unavailable, known bool) {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || pgconn.Timeout(err) {
		return true, true
	}
	if code := pgCode(err); code != "" {
		return pgOutageCode(code), true
	}
	return false, false
}
