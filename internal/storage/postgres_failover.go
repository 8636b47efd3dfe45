package storage

// Surviving a failover of the PostgreSQL primary.
//
// The site connects with a multi-host URL and target_session_attrs=
// read-write (or through a proxy that follows the leader): every new
// connection finds whichever server takes writes now. What is left to
// insta485 is the moment of the switch:
//
//   - A new connection that reaches only servers not taking writes yet (a
//     standby about to be promoted, a primary shutting down) waits for the
//     new primary, as long as the caller can wait (its context's deadline,
//     at most the connect timeout): a planned switchover then costs a
//     pause, not an error (internal/storage/postgres's OpenPrimary).
//   - A write that failed without taking effect because its connection was
//     on a server that can no longer take it (one that became read-only,
//     25006, or is being shut down, 57P01) drops the pool's idle
//     connections, which lead to the same server, and runs once more on a
//     fresh connection (retryWrite).
//   - A write whose connection broke without a word from the server may
//     have committed (its commit was waiting for the synchronous standby
//     when the old primary shut down). Running it again blindly could store
//     it twice, so settle asks the primary (the new one) whether it is
//     there and runs it again only when it is not: a planned switchover
//     answers no write with 503.
//   - A read that failed for any outage runs once more (retryRead): reads
//     change nothing.
//   - With read replicas, the session check of every request falls back to
//     a replica when the primary cannot be reached, so reads go on being
//     served while there is no primary (sessionRead).

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"

	"github.com/insta485/insta485/internal/storage/postgres"
)

// retryWrite runs write, and once more on a fresh connection when it failed
// as postgres.RetryableWrite says. The idle connections are closed first: they lead
// to the same server as the failed one.
func (s *Store) retryWrite(write func() error) error {
	err := write()
	if !postgres.RetryableWrite(err) {
		return err
	}
	s.dropIdle()
	return write()
}

// settle finishes a write that failed with err. When err leaves the
// outcome unknown (postgres.OutcomeUnknown), the idle connections are
// dropped, stored asks the primary (a new one after a failover) whether the
// write took effect, by what it returned or by the unique values it wrote,
// and again runs it once more when it did not. When the primary cannot say
// either, err stands (503: the client tries again). A nil stored means the
// write is safe to run twice (again reads what is there).
func (s *Store) settle(err error, stored func() (bool, error), again func() error) error {
	if !postgres.OutcomeUnknown(err) {
		return err
	}
	s.dropIdle()
	if s.beforeSettle != nil {
		s.beforeSettle()
	}
	log := s.log
	if log == nil {
		log = slog.Default()
	}
	if stored != nil {
		ok, serr := stored()
		if serr != nil {
			log.Warn("a write's connection broke during its commit and the primary could not say whether it took effect; the client gets 503", "err", err, "lookup", serr)
			return err
		}
		if ok {
			log.Info("a write's connection broke during its commit; the primary has it", "err", err)
			return nil
		}
	}
	log.Info("a write's connection broke during its commit; running it again", "err", err)
	return again()
}

// found turns a lookup's error into stored's answer for settle.
func found(err error) (bool, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// dropIdle closes the write pool's idle connections.
func (s *Store) dropIdle() {
	n := s.primary.Stats().MaxOpenConnections
	s.primary.SetMaxIdleConns(0)
	s.primary.SetMaxIdleConns(n)
}

// execWrite is ExecContext on the primary, retried as retryWrite says.
func (s *Store) execWrite(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	err = s.retryWrite(func() error {
		res, err = s.primary.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// queryRowWrite is QueryRowContext on the primary for a write that returns
// a row (INSERT … RETURNING), retried as retryWrite says.
func (s *Store) queryRowWrite(ctx context.Context, query string, args ...any) (row *sql.Row) {
	_ = s.retryWrite(func() error {
		row = s.primary.QueryRowContext(ctx, query, args...)
		return row.Err()
	})
	return row
}

// readOwnWrites runs fn, a read, on a database that has replayed what ctx
// requires (readOwnWritesOnce), and once more when it failed for an outage and the caller
// can still wait: a connection lost in a failover, or a replica gone.
func (s *Store) readOwnWrites(ctx context.Context, fn func(q reader) error) error {
	err := s.readOwnWritesOnce(ctx, fn)
	if Unavailable(err) && ctx.Err() == nil {
		err = s.readOwnWritesOnce(ctx, fn)
	}
	return err
}

// sessionRead runs fn, the session check, on the primary (a logout on
// another app server must hold at once). When the primary cannot be
// reached and there are replicas, a replica that has replayed what the
// request requires (its client's own last write) answers instead: while a
// failover is under way, logged-in users go on reading. The price is that
// a session ended moments before the primary was lost may still work
// during the gap.
func (s *Store) sessionRead(ctx context.Context, fn func(ctx context.Context, q reader) error) error {
	if s.replicas == nil {
		err := fn(ctx, s.latest)
		if Unavailable(err) && ctx.Err() == nil {
			err = fn(ctx, s.latest)
		}
		return err
	}
	// Without waiting for a new primary: a replica can answer now.
	err := fn(postgres.NoWait(ctx), s.latest)
	if !Unavailable(err) || ctx.Err() != nil {
		return err
	}
	return s.readOwnWritesOnce(ctx, func(q reader) error { return fn(ctx, q) })
}
