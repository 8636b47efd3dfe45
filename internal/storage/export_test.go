package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// MarkVersionForTest records a schema version, to test what happens when
// the database is ahead of the binary.
func (s *Store) MarkVersionForTest(ctx context.Context, v int) error {
	_, err := s.primary.ExecContext(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", v)
	return err
}

// PragmasForTest reports the SQLite settings of a reader and the writer.
func (s *Store) PragmasForTest(ctx context.Context) (string, error) {
	var out string
	for _, db := range []interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}{s.latestDB, s.primary} {
		var mode string
		var fk, busy int
		if err := db.QueryRowContext(ctx, "SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_busy_timeout").Scan(&mode, &fk, &busy); err != nil {
			return "", err
		}
		got := fmt.Sprintf("journal_mode=%s foreign_keys=%d busy_timeout=%d", mode, fk, busy)
		if out != "" && got != out {
			return "", fmt.Errorf("reader has %q, writer %q", out, got)
		}
		out = got
	}
	return out, nil
}

// QueryForTest runs one statement through the store's pool, for tests of
// what every statement goes through (timeouts, the pooler).
func (s *Store) QueryForTest(ctx context.Context, q string) error {
	var v any
	return s.latestDB.QueryRowContext(ctx, q).Scan(&v)
}

// IntForTest runs a query returning one integer.
func (s *Store) IntForTest(ctx context.Context, q string) (int, error) {
	var n int
	err := s.latestDB.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}

// CreateAtVersionForTest gives the empty database opts names the schema of
// version v, as an older insta485 would have left it, without sample data.
func CreateAtVersionForTest(ctx context.Context, opts Options, v int) (*Store, error) {
	s, err := Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	ms, err := s.migrations()
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, CreateSchemaMigrations); err != nil {
			return err
		}
		for _, m := range ms {
			if m.version <= v {
				if err := applyMigration(ctx, tx, m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return s, err
}

// FeedPageQuery is the SQL Feed runs.
const FeedPageQuery = feedPageQuery

// ExplainForTest returns the plan of query with args (see ExplainFeed).
func (s *Store) ExplainForTest(ctx context.Context, query string, args []any, generic bool) ([]string, error) {
	return s.explain(ctx, query, args, generic)
}

// ExplainTypedForTest is ExplainForTest with the parameters' types given
// (PostgreSQL).
func (s *Store) ExplainTypedForTest(ctx context.Context, query string, types []string, args []any, generic bool) ([]string, error) {
	if types == nil || s.dialect.name() != "postgres" {
		return s.explain(ctx, query, args, generic)
	}
	return s.pgExplainTyped(ctx, query, types, args, generic)
}

// ReadFunctionBody is one query of a read function (postgres_functions.go):
// the function, its parameters' types, when it runs the query.
type ReadFunctionBody struct {
	Name  string
	Types []string
	When  string
	Query string
}

// ReadFunctionBodiesForTest lists every query of the read functions.
func ReadFunctionBodiesForTest() []ReadFunctionBody {
	var out []ReadFunctionBody
	for _, f := range readFunctions() {
		for _, v := range f.variants {
			out = append(out, ReadFunctionBody{Name: f.name, Types: f.params, When: strings.Join(v.when, " AND "), Query: v.query})
		}
	}
	out = append(out, ReadFunctionBody{Name: "insta485_viewer", Types: []string{"text", "text", "bigint"},
		Query: viewerColumns + viewerSessionFrom("$2", "$3")})
	return out
}

// StatementFunctionsSQL is the SQL migration 0006 creates the session
// check's, the like's and the unlike's functions with.
func StatementFunctionsSQL() string { return statementFunctionsSQL() }

// ReadFunctionsSQL is the SQL migration 0005 creates the read functions
// with.
func ReadFunctionsSQL() string { return readFunctionsSQL() }

// ExecForTest runs a statement on the writer, as another tool writing
// plain SQL into the tables would.
func (s *Store) ExecForTest(ctx context.Context, query string, args ...any) error {
	_, err := s.primary.ExecContext(ctx, query, args...)
	return err
}

// FeedDriftForTest counts the rows feed lacks and the rows it has too many,
// against what posts and following say it should hold.
func (s *Store) FeedDriftForTest(ctx context.Context) (missing, extra int, err error) {
	want := strings.TrimPrefix(feedFill, "INSERT INTO feed (username, postid)")
	if err := s.latestDB.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT * FROM ("+want+") AS w EXCEPT SELECT username, postid FROM feed) AS m").Scan(&missing); err != nil {
		return 0, 0, err
	}
	err = s.latestDB.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT username, postid FROM feed EXCEPT SELECT * FROM ("+want+") AS w) AS m").Scan(&extra)
	return missing, extra, err
}

// QueryStringForTest returns the one string query selects.
func (s *Store) QueryStringForTest(ctx context.Context, query string, args ...any) (string, error) {
	var v string
	err := s.latestDB.QueryRowContext(ctx, query, args...).Scan(&v)
	return v, err
}

// ReadAsQueryForTest returns the statement ReadAs runs (without replicas).
func (s *Store) ReadAsQueryForTest(v Viewer, loads ...Load) (string, []any) {
	q, args, _, _ := readAsQuery(s.dialect, v, loads)
	return q, args
}

// BeforeSettleForTest makes fn run when a write's outcome is unknown,
// before the store asks the primary whether it took effect: a test can
// then take the write away, as a failover to a standby that never
// received it would.
func (s *Store) BeforeSettleForTest(fn func()) { s.beforeSettle = fn }

// DropIdleForTest closes the primary's idle connections, so that the next
// statement runs on a new one (with the role's settings of the moment).
func (s *Store) DropIdleForTest() { s.dropIdle() }
