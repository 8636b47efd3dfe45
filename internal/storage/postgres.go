package storage

import (
	"context"
	"strings"

	"github.com/insta485/insta485/internal/storage/postgres"
)

// PostgresOptions are the settings of opts that connecting to PostgreSQL
// takes (internal/storage/postgres).
func (opts Options) PostgresOptions() postgres.Options {
	return postgres.Options{DSN: opts.DSN, Password: opts.Password, ConnectTimeout: opts.ConnectTimeout,
		StatementTimeout: opts.StatementTimeout, PreparedStatements: opts.PreparedStatements}
}

func openPostgres(ctx context.Context, opts Options) (*Store, error) {
	calls := new(postgres.Calls)
	db, cfg, prepared, err := postgres.OpenPrimary(ctx, opts.PostgresOptions(), opts.MaxConns, calls)
	if err != nil {
		return nil, err
	}
	return &Store{primary: db, latestDB: db, latest: db, dialect: postgresDialect{}, pgUser: cfg.User, pgDatabase: cfg.Database,
		calls: calls, prepared: prepared, log: opts.Log}, nil
}

type postgresDialect struct{}

func (postgresDialect) name() string          { return "postgres" }
func (postgresDialect) migrationsDir() string { return "migrations/postgres" }

func (postgresDialect) isUniqueViolation(err error) bool     { return postgres.Code(err) == "23505" }
func (postgresDialect) isForeignKeyViolation(err error) bool { return postgres.Code(err) == "23503" }

func (postgresDialect) forUpdate() string { return " FOR UPDATE" }

func (postgresDialect) jsonObject(pairs ...string) string {
	return "json_build_object(" + strings.Join(pairs, ", ") + ")"
}

func (postgresDialect) jsonArray(expr, order string) string {
	return "COALESCE(json_agg(" + expr + " ORDER BY " + order + "), '[]'::json)"
}

func (postgresDialect) jsonSub(query string) string { return "(" + query + ")" }

// epoch: a timestamp without time zone holds UTC here, and extract reads
// it as such.
func (postgresDialect) epoch(col string) string {
	return "floor(extract(epoch FROM " + col + "))::bigint"
}
