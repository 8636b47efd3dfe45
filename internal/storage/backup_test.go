package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestBackupLeaseIsTheSites: while a backup holds the lease, every store
// on that site sees it, whatever directory its process runs in, and a
// store of another site does not. On SQLite the lease is a lock on a file
// beside the database; on PostgreSQL an advisory lock in its database.
func TestBackupLeaseIsTheSites(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		create := func(opts storage.Options) storage.Options {
			t.Helper()
			if err := dbadmin.Create(ctx, opts); err != nil {
				t.Fatal(err)
			}
			return opts
		}
		open := func(opts storage.Options) *storage.Store {
			t.Helper()
			s, err := dbadmin.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		siteOpts := create(testenv.NewDatabase(t, backend))
		backupSide, site, other := open(siteOpts), open(siteOpts), open(create(testenv.NewDatabase(t, backend)))

		// The backup runs from another directory than the site.
		t.Chdir(t.TempDir())
		release, err := backupSide.HoldBackupLease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			s    *storage.Store
			want bool
		}{{"the site", site, true}, {"another site", other, false}} {
			got, err := c.s.BackupRunning(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s sees a backup running: %v, want %v", c.name, got, c.want)
			}
		}
		if backend == "sqlite" {
			if _, err := os.Stat(siteOpts.DSN + "-backup.lock"); err != nil {
				t.Errorf("the lease's lock file is not beside the database: %v", err)
			}
			if m, _ := filepath.Glob("*backup.lock"); len(m) > 0 {
				t.Errorf("lock files in the working directory: %v", m)
			}
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
		if got, err := site.BackupRunning(ctx); err != nil || got {
			t.Errorf("after the backup let go, the site sees one running: %v, %v", got, err)
		}
	})
}
