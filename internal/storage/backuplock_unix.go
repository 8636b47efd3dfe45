//go:build unix

package storage

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// On SQLite the lease is an exclusive flock on a file beside the
// database: every process using the database is on this machine, and the
// kernel lets go of the lock when the backup's process ends, however it
// ends. The app asks with a shared lock that it drops at once, so its
// checks never hold one another up.

func sqliteBackupLease(dbPath string) (func() error, error) {
	f, err := os.OpenFile(backupLockPath(dbPath), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("take the backup lease: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("take the backup lease on %s: %w", f.Name(), err)
	}
	return f.Close, nil // closing the file lets go of the lock
}

func sqliteBackupRunning(dbPath string) (bool, error) {
	f, err := os.Open(backupLockPath(dbPath))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // no backup was ever taken here
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, nil // closing f drops the shared lock
}
