//go:build !unix

package storage

// Without flock there is no lease on SQLite: a picture deleted while a
// backup runs may be missing from it (the backup reports it as missing).

func sqliteBackupLease(string) (func() error, error) { return func() error { return nil }, nil }

func sqliteBackupRunning(string) (bool, error) { return false, nil }
