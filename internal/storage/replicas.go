package storage

// The store's read replicas: their routing, health and lag are
// internal/storage/replicas; the read-your-writes contract is
// readyourwrites.go.

import (
	"context"
	"errors"

	"github.com/insta485/insta485/internal/storage/replicas"
)

// ReadStats counts where reads went, for metrics.
type ReadStats = replicas.ReadStats

// ReplicaStats is one replica's state and counts.
type ReplicaStats = replicas.ReplicaStats

// HasReplicas reports whether reads may go to replicas.
func (s *Store) HasReplicas() bool { return s.replicas != nil }

// PrimaryLSN returns the primary's current WAL position: one statement,
// no session state, so it works behind a transaction-mode pooler.
func (s *Store) PrimaryLSN(ctx context.Context) (LSN, error) {
	return replicas.PrimaryLSN(ctx, s.primary)
}

// ReplicaStats returns the read counters and each replica's state; nil
// replicas when none are configured.
func (s *Store) ReplicaStats() ReadStats {
	if s.replicas == nil {
		return ReadStats{}
	}
	return s.replicas.Stats()
}

// openReplicas starts routing reads to opts.Replicas.
func (s *Store) openReplicas(ctx context.Context, opts Options) error {
	if !IsPostgres(opts.DSN) {
		return errors.New("read replicas need a PostgreSQL primary: --database is an SQLite file")
	}
	for _, u := range opts.Replicas {
		if !IsPostgres(u) {
			return errors.New("a read replica is not a postgres:// URL: list replicas as postgres://user@host:port/dbname, comma-separated")
		}
	}
	// Reads see at least what the primary had when the schema was
	// checked: a lagging replica may predate a migration or the data
	// loaded just before serving.
	floor, err := s.PrimaryLSN(ctx)
	if err != nil {
		return err
	}
	rs, err := replicas.Open(s.primary, replicas.Options{URLs: opts.Replicas, Postgres: opts.PostgresOptions(),
		MaxConns: opts.MaxConns, MaxLag: opts.ReplicaMaxLag, Poll: opts.ReplicaPoll, Log: opts.Log, Calls: s.calls, Floor: floor})
	if err != nil {
		return err
	}
	s.replicas = rs
	s.lastWrite.Store(uint64(floor))
	return nil
}
