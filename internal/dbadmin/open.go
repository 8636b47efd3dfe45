package dbadmin

import (
	"context"

	"github.com/insta485/insta485/internal/storage"
)

// Open is storage.Open with the privilege check serving needs: after
// connecting and before reading the schema (which a role without the
// privileges could not, getting a bare "permission denied"), the role must
// be allowed to read and write the insta485 tables, or the error names the
// GRANTs to run. serve, and every tool that reads and writes rows, open the
// database this way.
func Open(ctx context.Context, opts storage.Options) (*storage.Store, error) {
	return storage.Open(ctx, opts, func(ctx context.Context, s *storage.Store) error {
		return CheckPrivileges(ctx, s, "insta485", AccessReadWrite)
	})
}

// Migrate is storage.Store.Migrate with the privilege checks of db
// migrate: the role must read the tables, and alter them when a migration
// is pending.
func Migrate(ctx context.Context, s *storage.Store) (int, error) {
	return s.Migrate(ctx, func(ctx context.Context, alter bool) error {
		need := AccessRead
		if alter {
			need = AccessRebuild
		}
		return CheckPrivileges(ctx, s, "db migrate", need)
	})
}
