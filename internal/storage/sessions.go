package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CreateSession records session id for username, valid until expires.
// Sessions of username that have expired are removed on the way, and now
// and then those of everyone, so the table holds about one row per live
// login.
func (s *Store) CreateSession(ctx context.Context, id, username string, expires time.Time) error {
	now := time.Now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE username = $1 AND expires < $2",
			username, now.Unix()); err != nil {
			return fmt.Errorf("remove expired sessions: %w", err)
		}
		if now.UnixNano()%64 == 0 {
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires < $1", now.Unix()); err != nil {
				return fmt.Errorf("remove expired sessions: %w", err)
			}
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO sessions (id, username, expires) VALUES ($1, $2, $3)",
			id, username, expires.Unix())
		if s.dialect.isForeignKeyViolation(err) {
			return ErrNotFound // the account was deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return nil
	})
}

// SessionUser returns the user whose live session id is, in one query (it
// runs on every request); ErrNotFound when the session ended or expired or
// its user is gone. It reads the primary (s.latest: on PostgreSQL the primary's
// pool, on SQLite the read pool with its statements kept prepared), not a
// read replica: a logout or password change on another instance must hold
// at once, and a replica may not have replayed it yet. Only while the
// primary cannot be reached does a replica answer (sessionRead).
func (s *Store) SessionUser(ctx context.Context, id string) (User, error) {
	var u User
	err := s.sessionRead(ctx, func(ctx context.Context, q reader) error {
		return q.QueryRowContext(ctx,
			`SELECT u.username, u.fullname, u.email, u.filename, u.password, u.created
		FROM sessions s JOIN users u ON u.username = s.username WHERE s.id = $1 AND s.expires >= $2`,
			id, time.Now().Unix()).Scan(&u.Username, &u.Fullname, &u.Email, &u.Filename, &u.Password, &u.Created)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("read session: %w", err)
	}
	u.Created = utc(u.Created)
	return u, nil
}

// EndSession removes session id; ending one that is gone is not an error.
func (s *Store) EndSession(ctx context.Context, id string) error {
	if _, err := s.execWrite(ctx, "DELETE FROM sessions WHERE id = $1", id); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// LoginFailures is what the database knows of recent wrong passwords for
// one account name.
type LoginFailures struct {
	Count int
	Last  time.Time
}

// LoginFailures returns the failure record of name (the zero value when
// there is none).
func (s *Store) LoginFailures(ctx context.Context, name string) (LoginFailures, error) {
	var n int
	var last int64
	err := s.latestDB.QueryRowContext(ctx, "SELECT failures, last_failure FROM login_failures WHERE name = $1", name).Scan(&n, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return LoginFailures{}, nil
	}
	if err != nil {
		return LoginFailures{}, fmt.Errorf("read login failures: %w", err)
	}
	return LoginFailures{Count: n, Last: time.Unix(last, 0)}, nil
}

// ClearLoginFailures forgets the failures of name, after a right password.
func (s *Store) ClearLoginFailures(ctx context.Context, name string) error {
	if _, err := s.execWrite(ctx, "DELETE FROM login_failures WHERE name = $1", name); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}
