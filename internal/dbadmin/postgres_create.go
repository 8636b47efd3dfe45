package dbadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/storage/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgMaintenance connects to the server's maintenance database with the same
// credentials, for CREATE and DROP DATABASE.
func pgMaintenance(ctx context.Context, opts storage.Options) (*pgx.Conn, *pgx.ConnConfig, error) {
	cfg, err := postgres.Config(opts.PostgresOptions(), nil)
	if err != nil {
		return nil, nil, err
	}
	target := cfg.Database
	mcfg := cfg.Copy()
	var lastErr error
	for _, db := range []string{"postgres", "template1"} {
		mcfg.Database = db
		c, err := pgx.ConnectConfig(ctx, mcfg)
		if err == nil {
			cfg.Database = target
			return c, cfg, nil
		}
		lastErr = err
	}
	return nil, cfg, postgres.ExplainConnect(lastErr, mcfg)
}

// It reports whether it created the database.
func pgCreateDatabase(ctx context.Context, opts storage.Options) (created bool, err error) {
	cfg, err := postgres.Config(opts.PostgresOptions(), nil)
	if err != nil {
		return false, err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return false, c.Close(ctx) // it exists; Create goes on to check the schema
	}
	if pgCode(err) != "3D000" {
		return false, postgres.ExplainConnect(err, cfg)
	}
	m, _, err := pgMaintenance(ctx, opts)
	if err != nil {
		return false, err
	}
	defer m.Close(ctx)
	_, err = m.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	if pgCode(err) == "42501" {
		return false, fmt.Errorf("database %q does not exist and role %q may not create it: ask the administrator to `CREATE DATABASE %s OWNER %s`", cfg.Database, cfg.User, cfg.Database, cfg.User)
	}
	if err != nil {
		return false, fmt.Errorf("create database %q: %w", cfg.Database, err)
	}
	return true, nil
}

// pgDropCreated drops the database opts names, which pgCreateDatabase
// made for a copy that then failed.
func pgDropCreated(ctx context.Context, opts storage.Options) error {
	m, cfg, err := pgMaintenance(ctx, opts)
	if err != nil {
		return err
	}
	defer m.Close(ctx)
	_, err = m.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)")
	return err
}

// insta485Tables in the order they can be dropped.
var insta485Tables = []string{"sessions", "login_failures", "feed", "pictures", "likes", "comments", "following", "posts", "users", "schema_migrations"}

func pgDestroy(ctx context.Context, opts storage.Options) error {
	m, cfg, err := pgMaintenance(ctx, opts)
	if err == nil {
		defer m.Close(ctx)
		// Only a role that may create the database again drops it: an
		// owner without CREATEDB (a database the administrator made for
		// it) would be left with none, and `db reset` could not recover.
		var mayCreate bool
		err = m.QueryRow(ctx, "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&mayCreate)
		if err != nil {
			return fmt.Errorf("read the role's privileges: %w", err)
		}
		if mayCreate {
			_, err = m.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)")
			if err == nil {
				return nil
			}
			if c := pgCode(err); c != "42501" && c != "55006" {
				return fmt.Errorf("drop database %q: %w", cfg.Database, err)
			}
		}
	}
	// The role may not drop the database (a managed server's usual set-up):
	// empty it instead.
	s, cerr := storage.Connect(ctx, opts)
	if databaseMissing(cerr) {
		return nil
	}
	if cerr != nil {
		return cerr
	}
	defer s.Close()
	if err := CheckPrivileges(ctx, s, "db destroy", AccessOwner); err != nil {
		return err
	}
	_, err = s.Primary().ExecContext(ctx, "DROP TABLE IF EXISTS "+strings.Join(insta485Tables, ", ")+" CASCADE")
	if err != nil {
		return fmt.Errorf("drop insta485 tables: %w", err)
	}
	_, err = s.Primary().ExecContext(ctx, "DROP FUNCTION IF EXISTS "+strings.Join(storage.PostgresFunctions, ", "))
	if err != nil {
		return fmt.Errorf("drop insta485 functions: %w", err)
	}
	return nil
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// databaseMissing reports whether err says the PostgreSQL database does
// not exist.
func databaseMissing(err error) bool { return pgCode(err) == "3D000" }
