package storage

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := s.dialect.migrationsDir()
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s is not named NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// LatestVersion is the schema version this binary expects.
func (s *Store) LatestVersion() int {
	ms, err := s.migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// SchemaVersion is the version the database is at; 0 when it has no schema.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var q string
	switch s.dialect.name() {
	case "sqlite":
		q = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
	default:
		q = "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'"
	}
	var n int
	if err := s.latestDB.QueryRowContext(ctx, q).Scan(&n); err != nil {
		if strings.Contains(err.Error(), "not a database") {
			return 0, fmt.Errorf("the SQLite file is not a database (corrupted?): run `insta485 db reset` to start over")
		}
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := s.latestDB.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// CheckSchema returns nil when the database is at the version this binary
// expects, and an error saying what to run when it is not.
func (s *Store) CheckSchema(ctx context.Context) error {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	latest := s.LatestVersion()
	if v > 0 && v <= latest {
		pending, err := s.pendingMigrations(ctx)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			return fmt.Errorf("the database schema lacks migration %s that this insta485 needs: run `insta485 db migrate`", pending[0].name)
		}
	}
	switch {
	case v == 0:
		return ErrNoSchema
	case v < latest:
		return fmt.Errorf("the database schema is at version %d but this insta485 needs %d: run `insta485 db migrate`", v, latest)
	case v > latest:
		return fmt.Errorf("the database schema is at version %d, newer than this insta485 knows (%d): upgrade insta485", v, latest)
	}
	return nil
}

// pendingMigrations are the migrations not recorded in schema_migrations,
// in order. Versions are not assumed contiguous: branches number their
// migrations ahead of one another, so a database may hold 1 and 3 before
// this binary brings 2; 2 is then still pending.
func (s *Store) pendingMigrations(ctx context.Context) ([]migration, error) {
	ms, err := s.migrations()
	if err != nil {
		return nil, err
	}
	done, err := queryInts(ctx, s.latestDB, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema versions: %w", err)
	}
	var pending []migration
	for _, m := range ms {
		if !slices.Contains(done, int64(m.version)) {
			pending = append(pending, m)
		}
	}
	return pending, nil
}

// Migrate applies every migration the database has not had yet, each in its
// own transaction and in version order, and returns how many it applied.
// checkAccess checks the role's privileges first (dbadmin.Migrate's), and
// again with alter when there is a migration to apply.
func (s *Store) Migrate(ctx context.Context, checkAccess func(ctx context.Context, alter bool) error) (int, error) {
	if err := checkAccess(ctx, false); err != nil {
		return 0, err
	}
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	if current == 0 {
		// Nothing to migrate from: creating the tables without the sample
		// data is not what an operator on an empty database wants.
		return 0, ErrNoSchema
	}
	pending, err := s.pendingMigrations(ctx)
	if err != nil {
		return 0, err
	}
	if len(pending) > 0 {
		if err := checkAccess(ctx, true); err != nil {
			return 0, err
		}
	}
	applied := 0
	for _, m := range pending {
		err := s.inTx(ctx, func(tx *sql.Tx) error { return applyMigration(ctx, tx, m) })
		if err != nil {
			return applied, err
		}
		applied++
	}
	return applied, nil
}

// CreateSchemaMigrations creates the table that records the schema
// version (dbadmin writes it into backups).
const CreateSchemaMigrations = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY)"

func applyMigration(ctx context.Context, tx *sql.Tx, m migration) error {
	if check := migrationChecks[m.version]; check != nil {
		if err := check(ctx, tx); err != nil {
			return fmt.Errorf("cannot apply migration %s: %w", m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("apply migration %s: %w", m.name, err)
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", m.version)
	return err
}

// migrationChecks run before the migration of their version, in its
// transaction, to refuse with a readable message what the SQL would refuse
// with an engine's terse one.
var migrationChecks = map[int]func(context.Context, *sql.Tx) error{
	2: checkCaseDuplicates,
}

// checkCaseDuplicates refuses migration 2 (usernames unique regardless of
// case) while names differ only in case. They are listed, not merged: which
// account keeps the name is the operator's decision.
func checkCaseDuplicates(ctx context.Context, tx *sql.Tx) error {
	names, err := queryStrings(ctx, tx, `SELECT username FROM users WHERE lower(username) IN
		(SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1)
		ORDER BY lower(username), username`)
	if err != nil {
		return fmt.Errorf("look for usernames that differ only in case: %w", err)
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("usernames must become unique regardless of case, but these differ only in case: %s; "+
		"delete all but one account of each group (or have a new account made for the others), then run `insta485 db migrate` again",
		strings.Join(names, ", "))
}

// ApplySchema creates schema_migrations and applies every migration in tx,
// for tools that make a database from nothing (db create, db copy).
func (s *Store) ApplySchema(ctx context.Context, tx *sql.Tx) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, CreateSchemaMigrations); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := applyMigration(ctx, tx, m); err != nil {
			return err
		}
	}
	return nil
}

// LatestSchemaVersion is the schema version this binary expects on backend
// ("sqlite" or "postgres").
func LatestSchemaVersion(backend string) int {
	d := dialect(sqliteDialect{})
	if backend == "postgres" {
		d = postgresDialect{}
	}
	return (&Store{dialect: d}).LatestVersion()
}
