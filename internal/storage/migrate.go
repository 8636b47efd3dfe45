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

	"github.com/jackc/pgx/v5"
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
func (s *Store) Migrate(ctx context.Context) (int, error) {
	if err := s.checkPrivileges(ctx, "db migrate", accessRead); err != nil {
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
		if err := s.checkPrivileges(ctx, "db migrate", accessRebuild); err != nil {
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

const createSchemaMigrations = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY)"

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

// createFault, set by tests, fails Create after the sample data is in.
var createFault func() error

// Create makes the database if it does not exist (and the backend may),
// applies the schema and loads the sample data of SPEC §2. It returns
// ErrExists when the database already holds the schema.
func Create(ctx context.Context, opts Options) error {
	if IsPostgres(opts.DSN) {
		if err := pgCreateDatabase(ctx, opts); err != nil {
			return err
		}
	}
	s, err := Connect(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.checkPrivileges(ctx, "db create", accessRead); err != nil {
		return err
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v != 0 {
		return ErrExists
	}
	if err := s.checkCreate(ctx, "db create"); err != nil {
		return err
	}
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	// One transaction (both engines have transactional DDL): a failure
	// part way leaves no schema behind, so the next Create starts over.
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := applySchema(ctx, tx, ms); err != nil {
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
func CheckCreate(ctx context.Context, opts Options) error {
	if !IsPostgres(opts.DSN) {
		return nil
	}
	s, err := Connect(ctx, opts)
	if pgCode(err) == "3D000" {
		return nil
	}
	if err != nil {
		return err
	}
	defer s.Close()
	return s.checkCreate(ctx, "db create")
}

// Exists reports whether the database exists and holds the schema.
func Exists(ctx context.Context, opts Options) (bool, error) {
	if !IsPostgres(opts.DSN) && !sqliteExists(opts.DSN) {
		return false, nil
	}
	s, err := Connect(ctx, opts)
	if err != nil {
		if pgCode(err) == "3D000" {
			return false, nil
		}
		return false, err
	}
	defer s.Close()
	if err := s.checkPrivileges(ctx, "db create", accessRead); err != nil {
		return false, err
	}
	v, err := s.SchemaVersion(ctx)
	return v != 0, err
}

// Destroy removes the database: the SQLite files, or on PostgreSQL the
// database itself when the role may drop it and create it again (CREATEDB),
// and otherwise every insta485 table inside it. Destroying what does not
// exist is not an error.
func Destroy(ctx context.Context, opts Options) error {
	if !IsPostgres(opts.DSN) {
		return sqliteDestroy(opts.DSN)
	}
	return pgDestroy(ctx, opts)
}

// pgMaintenance connects to the server's maintenance database with the same
// credentials, for CREATE and DROP DATABASE.
func pgMaintenance(ctx context.Context, opts Options) (*pgx.Conn, *pgx.ConnConfig, error) {
	cfg, err := pgConfig(opts, nil)
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
	return nil, cfg, explainPG(lastErr, mcfg)
}

func pgCreateDatabase(ctx context.Context, opts Options) error {
	cfg, err := pgConfig(opts, nil)
	if err != nil {
		return err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return c.Close(ctx) // it exists; Create goes on to check the schema
	}
	if pgCode(err) != "3D000" {
		return explainPG(err, cfg)
	}
	m, _, err := pgMaintenance(ctx, opts)
	if err != nil {
		return err
	}
	defer m.Close(ctx)
	_, err = m.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	if pgCode(err) == "42501" {
		return fmt.Errorf("database %q does not exist and role %q may not create it: ask the administrator to `CREATE DATABASE %s OWNER %s`", cfg.Database, cfg.User, cfg.Database, cfg.User)
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", cfg.Database, err)
	}
	return nil
}

// insta485Tables in the order they can be dropped.
var insta485Tables = []string{"sessions", "login_failures", "feed", "likes", "comments", "following", "posts", "users", "schema_migrations"}

// insta485Functions are the PostgreSQL functions the feed triggers run;
// dropping the tables leaves them behind.
var insta485Functions = []string{"feed_post_added()", "feed_post_removed()", "feed_follow_added()", "feed_follow_removed()", "feed_user_removed()"}

func pgDestroy(ctx context.Context, opts Options) error {
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
	s, cerr := Connect(ctx, opts)
	if pgCode(cerr) == "3D000" {
		return nil
	}
	if cerr != nil {
		return cerr
	}
	defer s.Close()
	if err := s.checkPrivileges(ctx, "db destroy", accessOwner); err != nil {
		return err
	}
	_, err = s.primary.ExecContext(ctx, "DROP TABLE IF EXISTS "+strings.Join(insta485Tables, ", ")+" CASCADE")
	if err != nil {
		return fmt.Errorf("drop insta485 tables: %w", err)
	}
	_, err = s.primary.ExecContext(ctx, "DROP FUNCTION IF EXISTS "+strings.Join(insta485Functions, ", "))
	if err != nil {
		return fmt.Errorf("drop insta485 functions: %w", err)
	}
	return nil
}
