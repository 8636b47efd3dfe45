package storage_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestSQLFilesMatchMigrations loads sql/schema.sql and sql/data.sql with
// psql, as an unprivileged role, and checks they give the same tables,
// columns, indexes, constraints and rows as `db create`.
func TestSQLFilesMatchMigrations(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("psql is required under CI")
		}
		t.Skip("psql not installed")
	}
	ctx := context.Background()
	migrated := testenv.NewDatabase(t, "postgres")
	if err := dbadmin.Create(ctx, migrated); err != nil {
		t.Fatal(err)
	}

	role := testenv.NewRole(t, "NOCREATEDB NOCREATEROLE")
	admin := testenv.AdminConn(t)
	loaded := testenv.RandomName("insta485_sql_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+loaded+" OWNER "+role); err != nil {
		t.Fatal(err)
	}
	loadedURL := testenv.WithUser(testenv.WithDatabase(testenv.PostgresAdminURL(), loaded), role)
	out, err := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-f", "../../sql/schema.sql", "-f", "../../sql/data.sql", loadedURL).CombinedOutput()
	if err != nil {
		t.Fatalf("psql failed: %v\n%s", err, out)
	}

	for name, q := range catalogQueries {
		want := queryRows(t, migrated.DSN, q)
		got := queryRows(t, loadedURL, q)
		if !slices.Equal(got, want) {
			t.Errorf("%s differ between sql/ files and migrations:\nsql/:       %v\nmigrations: %v", name, got, want)
		}
	}

	// The app accepts the loaded database, and its sequences continue.
	s, err := dbadmin.Open(ctx, storage.Options{DSN: loadedURL})
	if err != nil {
		t.Fatalf("open the psql-loaded database: %v", err)
	}
	defer s.Close()
	if id, err := s.CreatePost(ctx, "jag", "77777777777777777777777777777777.jpg"); err != nil || id != 5 {
		t.Errorf("first new post = %d, %v; want 5", id, err)
	}
}

var catalogQueries = map[string]string{
	"columns": `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || COALESCE(character_maximum_length::text, '') ||
		' ' || is_nullable || ' ' || COALESCE(column_default, '') || ' ' || is_identity
		FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1`,
	"indexes":     `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`,
	"constraints": `SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1`,
	"users":       `SELECT username || fullname || email || filename || password FROM users ORDER BY username`,
	"posts":       `SELECT postid || filename || owner FROM posts ORDER BY postid`,
	"following":   `SELECT follower || followee FROM following ORDER BY 1`,
	"comments":    `SELECT commentid || owner || postid || text FROM comments ORDER BY commentid`,
	"likes":       `SELECT likeid || owner || postid FROM likes ORDER BY likeid`,
	"versions":    `SELECT version::text FROM schema_migrations ORDER BY 1`,
	"triggers": `SELECT event_object_table || ' ' || trigger_name || ' ' || action_timing || ' ' || event_manipulation || ' ' || action_statement
		FROM information_schema.triggers WHERE trigger_schema = 'public' ORDER BY 1`,
	"functions": `SELECT p.proname || ' ' || pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1`,
	"feed":      `SELECT username || ' ' || postid FROM feed ORDER BY 1`,
	"pictures":  `SELECT filename || ' ' || width || 'x' || height || ' ' || color FROM pictures ORDER BY 1`,
}

func queryRows(t *testing.T, url, q string) []string {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	rows, err := c.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnprivilegedRoleWithoutCreateDB is the managed-server set-up: the
// administrator made the database; the app's role may create tables in it
// but may neither create nor drop databases.
func TestUnprivilegedRoleWithoutCreateDB(t *testing.T) {
	ctx := context.Background()
	role := testenv.NewRole(t, "NOCREATEDB NOCREATEROLE")
	admin := testenv.AdminConn(t)
	dbname := testenv.RandomName("insta485_managed_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+dbname); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+dbname+" WITH (FORCE)") })
	adminURL := testenv.WithDatabase(testenv.PostgresAdminURL(), dbname)
	grant, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = grant.Exec(ctx, fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s; GRANT CREATE, USAGE ON SCHEMA public TO %s", dbname, role, role))
	grant.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opts := storage.Options{DSN: testenv.WithUser(adminURL, role)}

	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatalf("Create as an unprivileged role = %v", err)
	}
	if err := dbadmin.Create(ctx, opts); !errors.Is(err, dbadmin.ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	if err := dbadmin.Destroy(ctx, opts); err != nil {
		t.Fatalf("Destroy as an unprivileged role = %v", err)
	}
	// The database is still there (the role may not drop it), empty.
	if tables := queryRows(t, adminURL, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'"); len(tables) != 0 {
		t.Errorf("tables left after Destroy: %v", tables)
	}
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Errorf("Create after Destroy = %v", err)
	}

	// A database that does not exist cannot be made by this role: the
	// error says whom to ask for what.
	missing := storage.Options{DSN: testenv.WithUser(testenv.WithDatabase(testenv.PostgresAdminURL(), dbname+"_x"), role)}
	err = dbadmin.Create(ctx, missing)
	if err == nil || !strings.Contains(err.Error(), "may not create it") || !strings.Contains(err.Error(), "CREATE DATABASE") {
		t.Errorf("Create of a missing database without CREATEDB = %v", err)
	}
}

// TestRoleWithCreateDBCreatesAndDropsTheDatabase: a role that may create
// databases gets a whole database from Create and loses it on Destroy.
func TestRoleWithCreateDBCreatesAndDropsTheDatabase(t *testing.T) {
	ctx := context.Background()
	role := testenv.NewRole(t, "CREATEDB")
	dbname := testenv.RandomName("insta485_own_")
	url := testenv.WithUser(testenv.WithDatabase(testenv.PostgresAdminURL(), dbname), role)
	opts := storage.Options{DSN: url}
	if ok, err := dbadmin.Exists(ctx, opts); ok || err != nil {
		t.Errorf("Exists before the database exists = %v, %v; want false, nil", ok, err)
	}
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if ok, err := dbadmin.Exists(ctx, opts); !ok || err != nil {
		t.Errorf("Exists after Create = %v, %v; want true, nil", ok, err)
	}
	admin := testenv.AdminConn(t)
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", dbname).Scan(&n); err != nil || n != 1 {
		t.Fatalf("database not created: %d, %v", n, err)
	}
	if err := dbadmin.Destroy(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", dbname).Scan(&n); err != nil || n != 0 {
		t.Errorf("database not dropped: %d, %v", n, err)
	}
}

// TestConnectionErrorsNameTheFix checks the messages an operator sees for
// the usual ways a connection fails.
func TestConnectionErrorsNameTheFix(t *testing.T) {
	testenv.AdminConn(t) // skip without a server, like every PostgreSQL test
	base := testenv.PostgresAdminURL()
	cases := []struct{ name, dsn, want string }{
		{"refused port", "postgres://postgres@127.0.0.1:1/x?sslmode=disable", "nothing is listening"},
		{"unknown host", "postgres://postgres@insta485-no-such-host.invalid/x?sslmode=disable", "cannot resolve"},
		// A server that asks for passwords does not tell whether the role
		// exists; one that trusts local connections does.
		{"unknown role", testenv.WithUser(base, "insta485_nobody"), "role \"insta485_nobody\""},
		{"missing database", testenv.WithDatabase(base, "insta485_no_such_db"), "does not exist"},
		{"malformed URL", "postgres://%zz", "malformed"},
		{"bad sslmode", "postgres://app:s3cret@127.0.0.1/x?sslmode=bogus", "sslmode is invalid"},
		{"missing CA file", "postgres://app:s3cret@127.0.0.1/x?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "sslrootcert is invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := dbadmin.Open(context.Background(), storage.Options{DSN: c.dsn})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open(%s) = %v, want an error saying %q", c.name, err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Open(%s) leaks the password: %v", c.name, err)
			}
		})
	}
}

// TestOwnerWithoutCreateDBKeepsItsDatabase is the other managed set-up the
// README names: the administrator created a database the app's role owns,
// and the role may not create databases. Destroy must empty that database,
// not drop it: the role could never create it again, so `db reset` would
// end with no database at all.
func TestOwnerWithoutCreateDBKeepsItsDatabase(t *testing.T) {
	ctx := context.Background()
	role := testenv.NewRole(t, "NOCREATEDB NOCREATEROLE")
	admin := testenv.AdminConn(t)
	dbname := testenv.RandomName("insta485_owned_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+dbname+" OWNER "+role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+dbname+" WITH (FORCE)") })
	adminURL := testenv.WithDatabase(testenv.PostgresAdminURL(), dbname)
	opts := storage.Options{DSN: testenv.WithUser(adminURL, role)}
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatalf("Create as the owner without CREATEDB = %v", err)
	}
	if err := dbadmin.Destroy(ctx, opts); err != nil {
		t.Fatalf("Destroy = %v", err)
	}
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", dbname).Scan(&n); err != nil || n != 1 {
		t.Fatalf("Destroy dropped the database the role cannot create again (%d, %v)", n, err)
	}
	if tables := queryRows(t, adminURL, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'"); len(tables) != 0 {
		t.Errorf("tables left after Destroy: %v", tables)
	}
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Errorf("Create after Destroy (db reset) = %v", err)
	}
}
