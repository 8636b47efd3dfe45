package dbadmin

import (
	"context"
	"database/sql"
	"errors"

	"github.com/insta485/insta485/internal/storage"
)

// ErrExists is returned by Create when the database already holds the schema.
var ErrExists = errors.New("database already exists")

// createFault, set by tests, fails Create after the sample data is in.
var createFault func() error

// Create makes the database if it does not exist (and the backend may),
// applies the schema and loads the sample data of SPEC §2. It returns
// ErrExists when the database already holds the schema.
func Create(ctx context.Context, opts storage.Options) error {
	if storage.IsPostgres(opts.DSN) {
		if _, err := pgCreateDatabase(ctx, opts); err != nil {
			return err
		}
	}
	s, err := storage.Connect(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := CheckPrivileges(ctx, s, "db create", AccessRead); err != nil {
		return err
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v != 0 {
		return ErrExists
	}
	if err := CheckCreatePrivileges(ctx, s, "db create"); err != nil {
		return err
	}
	// One transaction (both engines have transactional DDL): a failure
	// part way leaves no schema behind, so the next Create starts over.
	return s.Transact(ctx, func(tx *sql.Tx) error {
		if err := s.ApplySchema(ctx, tx); err != nil {
			return err
		}
		if err := loadSample(ctx, tx); err != nil {
			return err
		}
		if createFault != nil {
			return createFault()
		}
		return nil
	})
}

// CheckCreate returns nil when Create may go ahead as far as privileges
// go, and otherwise the error naming the GRANT to run, so callers can ask
// before they write anything else (the sample pictures). A PostgreSQL
// database that does not exist yet is Create's to make or explain.
func CheckCreate(ctx context.Context, opts storage.Options) error {
	if !storage.IsPostgres(opts.DSN) {
		return nil
	}
	s, err := storage.Connect(ctx, opts)
	if databaseMissing(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer s.Close()
	return CheckCreatePrivileges(ctx, s, "db create")
}

// Exists reports whether the database exists and holds the schema.
func Exists(ctx context.Context, opts storage.Options) (bool, error) {
	if !storage.IsPostgres(opts.DSN) && !storage.SQLiteExists(opts.DSN) {
		return false, nil
	}
	s, err := storage.Connect(ctx, opts)
	if err != nil {
		if databaseMissing(err) {
			return false, nil
		}
		return false, err
	}
	defer s.Close()
	if err := CheckPrivileges(ctx, s, "db create", AccessRead); err != nil {
		return false, err
	}
	v, err := s.SchemaVersion(ctx)
	return v != 0, err
}

// Destroy removes the database: the SQLite files, or on PostgreSQL the
// database itself when the role may drop it and create it again (CREATEDB),
// and otherwise every insta485 table inside it. Destroying what does not
// exist is not an error.
func Destroy(ctx context.Context, opts storage.Options) error {
	if !storage.IsPostgres(opts.DSN) {
		return sqliteDestroy(opts.DSN)
	}
	return pgDestroy(ctx, opts)
}
