package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// The backup lease (`insta485 db backup`; the snapshot itself is
// dbadmin.Snapshot). Pictures a row names are copied by the caller (package backup) while a
// lease is held. While any backup holds it, the app keeps the files it
// would delete (BackupRunning), so every picture a row in the snapshot
// names is still there to copy; the backup deletes the ones whose rows
// went meanwhile before it lets go of the lease. The lease is taken before
// the snapshot begins, so a delete the snapshot does not see either came
// before it (and its picture is not named) or found the lease.

// backupLockKey is the PostgreSQL advisory lock that is the lease ("i485"
// and "bkup" in ASCII).
const backupLockKey int64 = 0x69343835_626b7570

// BackupRunning reports whether a backup holds the lease: the app then
// keeps the picture files it would delete, and the backup deletes them
// when it is done.
func (s *Store) BackupRunning(ctx context.Context) (bool, error) {
	if s.dialect.name() == "postgres" {
		var held bool
		err := s.primary.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 1
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND classid::bigint = $1 AND objid::bigint = $2)`,
			backupLockKey>>32, backupLockKey&0xffffffff).Scan(&held)
		return held, err
	}
	return sqliteBackupRunning(s.path)
}

// HoldBackupLease takes the lease, waiting for another backup to finish.
func (s *Store) HoldBackupLease(ctx context.Context) (release func() error, err error) {
	if s.dialect.name() != "postgres" {
		return sqliteBackupLease(s.path)
	}
	// A session lock on a connection of its own, taken before the
	// snapshot's transaction begins; closing the connection (or the
	// process dying) lets go of it too. It needs a direct connection or a
	// session-mode pooler.
	conn, err := s.primary.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", backupLockKey); err != nil {
		conn.Close()
		return nil, fmt.Errorf("take the backup lease: %w", err)
	}
	return func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", backupLockKey)
		if err != nil {
			// Drop the connection rather than pool it with the lock held.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
		return nil
	}, nil
}

// backupLockPath is the file an SQLite database's lease is a lock on.
func backupLockPath(dbPath string) string { return dbPath + "-backup.lock" }
