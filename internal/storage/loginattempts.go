package storage

import (
	"context"
	"fmt"
	"time"
)

// SwapLoginFailures replaces name's failure record by next, but only if it
// is still old (as LoginFailures returned it; the zero value for no
// record), and reports whether it did. It is how the login throttle
// reserves an attempt before checking a password: of the requests that
// read the same record, on any number of app servers, exactly one
// succeeds, and the others read again and decide again.
func (s *Store) SwapLoginFailures(ctx context.Context, name string, old, next LoginFailures) (bool, error) {
	var q string
	args := []any{name, next.Count, next.Last.Unix()}
	if old == (LoginFailures{}) {
		q = `INSERT INTO login_failures (name, failures, last_failure) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`
	} else {
		q = `UPDATE login_failures SET failures = $2, last_failure = $3
			WHERE name = $1 AND failures = $4 AND last_failure = $5`
		args = append(args, old.Count, old.Last.Unix())
	}
	res, err := s.execWrite(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("reserve a login attempt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("reserve a login attempt: %w", err)
	}
	return n == 1, nil
}

// RefundLoginFailure takes back one failure counted for name by an attempt
// whose password was never checked (no password check slot came free, or
// the database failed). The time of the last failure stays: that only
// makes the next try wait as long as it would have.
func (s *Store) RefundLoginFailure(ctx context.Context, name string) error {
	if _, err := s.execWrite(ctx, "UPDATE login_failures SET failures = failures - 1 WHERE name = $1 AND failures > 0", name); err != nil {
		return fmt.Errorf("refund a login attempt: %w", err)
	}
	return nil
}

// TouchLoginFailure moves name's last failure to now, when a password
// counted at the start of its check turned out wrong: the next try's delay
// runs from the end of the check, however long it took.
func (s *Store) TouchLoginFailure(ctx context.Context, name string, now time.Time) error {
	if _, err := s.execWrite(ctx, "UPDATE login_failures SET last_failure = $2 WHERE name = $1 AND last_failure < $2", name, now.Unix()); err != nil {
		return fmt.Errorf("record a login failure: %w", err)
	}
	return nil
}

// ForgetLoginFailures removes the failure records older than cutoff, so
// the table stays small.
func (s *Store) ForgetLoginFailures(ctx context.Context, cutoff time.Time) error {
	if _, err := s.execWrite(ctx, "DELETE FROM login_failures WHERE last_failure < $1", cutoff.Unix()); err != nil {
		return fmt.Errorf("forget old login failures: %w", err)
	}
	return nil
}
