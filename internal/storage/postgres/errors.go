package postgres

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// OutageCode reports whether a PostgreSQL error code means the server
// cannot serve right now rather than that the statement is wrong: class
// 08 (connection exceptions), 57P01–57P03 (shutting down or starting),
// 53300 (too many connections), 25006 (the server has become read-only:
// a demoted primary). It is the one list of outage codes: the
// HTTP answer (storage.Unavailable) and replica health both use it.
func OutageCode(code string) bool {
	return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300" || code == "25006"
}

// Code returns the SQLSTATE code of the PostgreSQL error in err, or "".
func Code(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Unavailable classifies err as PostgreSQL reports it: known is false
// when err carries nothing from PostgreSQL or pgx.
func Unavailable(err error) (unavailable, known bool) {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || pgconn.Timeout(err) {
		return true, true
	}
	if code := Code(err); code != "" {
		return OutageCode(code), true
	}
	return false, false
}

// connectError is a connection failure explained for an operator; the
// driver's error stays underneath for callers that test it.
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string { return e.msg }
func (e *connectError) Unwrap() error { return e.err }

// ExplainConnect turns a connection failure into a message that names the
// fix.
func ExplainConnect(err error, cfg *pgx.ConnConfig) error {
	msg := explainMessage(err, cfg)
	if msg == "" {
		return fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	return &connectError{msg: msg, err: err}
}

func explainMessage(err error, cfg *pgx.ConnConfig) string {
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
