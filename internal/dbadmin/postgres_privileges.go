package dbadmin

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/insta485/insta485/internal/storage"
	"github.com/jackc/pgx/v5"
)

// On PostgreSQL the role insta485 connects as is often not the one that
// made the database or loaded the tables (an administrator, psql run as
// another role, a managed service's master user). Instead of letting a
// statement fail half way with "permission denied" or "must be owner", each
// task first reads from the catalog what the role may do, and answers a
// missing privilege with the statements an administrator runs to grant it.
// Serving checks too before it starts (Open), and db migrate (Migrate).

// Access is what a task does with the insta485 tables.
type Access int

const (
	// AccessRead reads every table (db dump, the schema check).
	AccessRead Access = iota
	// AccessReadWrite reads and changes rows (serve).
	AccessReadWrite
	// AccessOwner drops the tables (db destroy).
	AccessOwner
	// AccessRebuild alters the tables and creates indexes in their schema
	// (db random sets constraints and indexes aside and makes them again,
	// db migrate changes the schema).
	AccessRebuild
)

// dataTables are the tables the site reads and writes.
var dataTables = []string{"users", "posts", "following", "comments", "likes", "feed", "pictures", "sessions", "login_failures"}

// tablePrivileges is what the catalog says about one existing table.
type tablePrivileges struct {
	name, owner                    string
	owns                           bool
	sel, insert, update, deleteRow bool
}

// CheckPrivileges returns nil when the role may do what task needs with
// the insta485 tables that exist (SQLite: always), and otherwise an error
// naming the statements that grant it.
func CheckPrivileges(ctx context.Context, s *storage.Store, task string, need Access) error {
	if s.Backend() != "postgres" {
		return nil
	}
	user, database := s.PostgresRole()
	var schema sql.NullString
	var usage, create, temp bool
	err := s.Reader().QueryRowContext(ctx, `SELECT current_schema()::text,
		COALESCE(has_schema_privilege(current_schema(), 'USAGE'), false),
		COALESCE(has_schema_privilege(current_schema(), 'CREATE'), false),
		has_database_privilege(current_database(), 'TEMP')`).Scan(&schema, &usage, &create, &temp)
	if err != nil {
		return fmt.Errorf("read the role's privileges: %w", err)
	}
	if !schema.Valid {
		return fmt.Errorf("role %s has no schema to use in database %s (none on its search_path exists): have an administrator run, connected to %s:\n    CREATE SCHEMA %s AUTHORIZATION %s;",
			user, database, database, ident(user), ident(user))
	}
	tables, err := readTablePrivileges(ctx, s.Reader(), schema.String)
	if err != nil {
		return err
	}
	var fixes []string
	if !usage {
		fixes = append(fixes, fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", ident(schema.String), ident(user)))
	}
	if need == AccessRebuild && !create && len(tables) > 0 {
		fixes = append(fixes, fmt.Sprintf("GRANT CREATE ON SCHEMA %s TO %s;", ident(schema.String), ident(user)))
	}
	var notOwned []string
	for _, t := range tables {
		if need >= AccessOwner {
			if !t.owns {
				notOwned = append(notOwned, t.owner)
				fixes = append(fixes, fmt.Sprintf("ALTER TABLE %s.%s OWNER TO %s;", ident(schema.String), ident(t.name), ident(user)))
			}
			continue
		}
		var missing []string
		if !t.sel {
			missing = append(missing, "SELECT")
		}
		if need == AccessReadWrite && t.name != "schema_migrations" {
			for _, p := range []struct {
				ok   bool
				name string
			}{{t.insert, "INSERT"}, {t.update, "UPDATE"}, {t.deleteRow, "DELETE"}} {
				if !p.ok {
					missing = append(missing, p.name)
				}
			}
		}
		if len(missing) > 0 {
			fixes = append(fixes, fmt.Sprintf("GRANT %s ON %s.%s TO %s;", strings.Join(missing, ", "), ident(schema.String), ident(t.name), ident(user)))
		}
	}
	funcs, err := functionOwners(ctx, s.Reader(), schema.String)
	if err != nil {
		return err
	}
	for _, f := range funcs {
		// Serving calls the read functions (postgres_functions.go),
		// which PUBLIC may execute unless an administrator revoked it.
		if need == AccessReadWrite && !f.exec && strings.HasPrefix(f.name, "insta485_") {
			fixes = append(fixes, fmt.Sprintf("GRANT EXECUTE ON FUNCTION %s.%s%s TO %s;", ident(schema.String), ident(f.name), f.args, ident(user)))
		}
	}
	if need >= AccessOwner {
		// Dropping or pausing the feed triggers also needs their functions.
		for _, f := range funcs {
			if !f.owns {
				notOwned = append(notOwned, f.owner)
				fixes = append(fixes, fmt.Sprintf("ALTER FUNCTION %s.%s%s OWNER TO %s;", ident(schema.String), ident(f.name), f.args, ident(user)))
			}
		}
	}
	if need == AccessRebuild && !temp {
		fixes = append(fixes, fmt.Sprintf("GRANT TEMPORARY ON DATABASE %s TO %s;", ident(database), ident(user)))
	}
	if len(fixes) == 0 {
		return nil
	}
	what := "lacks privileges on the insta485 tables"
	switch {
	case len(notOwned) > 0:
		what = fmt.Sprintf("must own the insta485 tables, which belong to role %s,", strings.Join(uniq(notOwned), ", "))
	case need == AccessRebuild:
		what = "must be allowed to create indexes in schema " + schema.String
	}
	return &PrivilegeError{Task: task, Msg: fmt.Sprintf("%s: role %s %s in database %s; have an administrator run, connected to database %s:\n    %s",
		task, user, what, database, database, strings.Join(fixes, "\n    "))}
}

// CheckCreatePrivileges returns nil when the role may create the insta485 tables in
// its schema, and otherwise the statements that let it.
func CheckCreatePrivileges(ctx context.Context, s *storage.Store, task string) error {
	if s.Backend() != "postgres" {
		return nil
	}
	user, database := s.PostgresRole()
	var schema sql.NullString
	var create bool
	err := s.Reader().QueryRowContext(ctx, `SELECT current_schema()::text,
		COALESCE(has_schema_privilege(current_schema(), 'CREATE'), false)`).Scan(&schema, &create)
	if err != nil {
		return fmt.Errorf("read the role's privileges: %w", err)
	}
	if !schema.Valid {
		return CheckPrivileges(ctx, s, task, AccessRead) // names CREATE SCHEMA
	}
	if create {
		return nil
	}
	return &PrivilegeError{Task: task, Msg: fmt.Sprintf("%s: role %s may not create tables in schema %s of database %s (since PostgreSQL 15 only the database owner may, unless granted); have an administrator run, connected to database %s:\n    GRANT CREATE ON SCHEMA %s TO %s;\nor make the role own the database:\n    ALTER DATABASE %s OWNER TO %s;   -- or, for a new one: CREATE DATABASE %s OWNER %s;",
		task, user, schema.String, database, database,
		ident(schema.String), ident(user),
		ident(database), ident(user), ident(database), ident(user))}
}

// PrivilegeError is a task the database role may not do, with the fix.
type PrivilegeError struct {
	Task string
	Msg  string
}

func (e *PrivilegeError) Error() string { return e.Msg }

func readTablePrivileges(ctx context.Context, db *sql.DB, schema string) ([]tablePrivileges, error) {
	rows, err := db.QueryContext(ctx, `SELECT c.relname::text, pg_get_userbyid(c.relowner)::text,
		pg_has_role(current_user, c.relowner, 'USAGE'),
		has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'),
		has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)`,
		schema, append(append([]string{}, dataTables...), "schema_migrations"))
	if err != nil {
		return nil, fmt.Errorf("read the role's privileges: %w", err)
	}
	defer rows.Close()
	byName := map[string]tablePrivileges{}
	for rows.Next() {
		var t tablePrivileges
		if err := rows.Scan(&t.name, &t.owner, &t.owns, &t.sel, &t.insert, &t.update, &t.deleteRow); err != nil {
			return nil, err
		}
		byName[t.name] = t
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// In a fixed order, so the fix reads the same every time.
	var out []tablePrivileges
	for _, name := range append(append([]string{}, dataTables...), "schema_migrations") {
		if t, ok := byName[name]; ok {
			out = append(out, t)
		}
	}
	return out, nil
}

var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// ident quotes a PostgreSQL identifier only when it needs quoting, so the
// statements in messages read like the ones an administrator would type.
func ident(s string) string {
	if plainIdent.MatchString(s) {
		return s
	}
	return pgx.Identifier{s}.Sanitize()
}

func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

type functionOwner struct {
	name, owner string
	args        string // the parameters' types in parentheses
	owns, exec  bool
}

// functionOwners says who owns each insta485 function (the triggers' and
// the reads')
// that exists in schema.
func functionOwners(ctx context.Context, db *sql.DB, schema string) ([]functionOwner, error) {
	var names []string
	signatures := map[string]string{}
	for _, f := range storage.PostgresFunctions {
		name, args, _ := strings.Cut(f, "(")
		names = append(names, name)
		signatures[name] = "(" + args
	}
	rows, err := db.QueryContext(ctx, `SELECT p.proname::text, pg_get_userbyid(p.proowner)::text,
		pg_has_role(current_user, p.proowner, 'USAGE'), has_function_privilege(p.oid, 'EXECUTE')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = $1 AND p.proname = ANY($2) ORDER BY p.proname`, schema, names)
	if err != nil {
		return nil, fmt.Errorf("read the role's privileges: %w", err)
	}
	defer rows.Close()
	var out []functionOwner
	for rows.Next() {
		var f functionOwner
		if err := rows.Scan(&f.name, &f.owner, &f.owns, &f.exec); err != nil {
			return nil, err
		}
		f.args = signatures[f.name]
		out = append(out, f)
	}
	return out, rows.Err()
}
