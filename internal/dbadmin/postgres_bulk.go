package dbadmin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

type postgresEngine struct{}

// feedFillOrder: none; the bulk load builds feed's key after the fill.
func (postgresEngine) feedFillOrder() string { return "" }

// pauseFeed disables the feed triggers and drops feed's key for the rest
// of the load's transaction (the tables are locked by the load anyway):
// filling feed in one INSERT … SELECT and building its index once at the
// end is much faster than growing the index row by row.
func (postgresEngine) pauseFeed(ctx context.Context, tx *sql.Tx) (func() error, error) {
	err := execAll(ctx, tx, []string{
		"ALTER TABLE posts DISABLE TRIGGER USER",
		"ALTER TABLE following DISABLE TRIGGER USER",
		"ALTER TABLE users DISABLE TRIGGER USER",
		"ALTER TABLE feed DROP CONSTRAINT feed_pkey",
	})
	if err != nil {
		return nil, err
	}
	return func() error {
		return execAll(ctx, tx, []string{
			"ALTER TABLE feed ADD CONSTRAINT feed_pkey PRIMARY KEY (username, postid)",
			"ALTER TABLE posts ENABLE TRIGGER USER",
			"ALTER TABLE following ENABLE TRIGGER USER",
			"ALTER TABLE users ENABLE TRIGGER USER",
			"ANALYZE feed",
		})
	}, nil
}

func (postgresEngine) secondsAgo(col string) string {
	return "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC') - " + col + " * INTERVAL '1 second'"
}

// bulkStage copies the staged rows with COPY, the fastest way into PostgreSQL.
func (postgresEngine) bulkStage(ctx context.Context, conn *sql.Conn, _ *sql.Tx, b *bulkData) error {
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		for _, t := range b.tables() {
			i := 0
			src := pgx.CopyFromFunc(func() ([]any, error) {
				if i == t.rows {
					return nil, nil
				}
				i++
				return t.row(i - 1), nil
			})
			if _, err := pc.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, src); err != nil {
				return fmt.Errorf("copy into %s: %w", t.name, err)
			}
		}
		return nil
	})
}

// pgBulkConstraints are set aside during a bulk load: checking a foreign key
// or growing an index row by row is what makes loading millions of rows slow,
// while re-adding them afterwards checks every row in one pass.
var pgBulkConstraints = []struct{ table, name, def string }{
	{"posts", "posts_owner_fkey", "FOREIGN KEY (owner) REFERENCES users (username) ON DELETE CASCADE"},
	{"following", "following_follower_fkey", "FOREIGN KEY (follower) REFERENCES users (username) ON DELETE CASCADE"},
	{"following", "following_followee_fkey", "FOREIGN KEY (followee) REFERENCES users (username) ON DELETE CASCADE"},
	{"comments", "comments_owner_fkey", "FOREIGN KEY (owner) REFERENCES users (username) ON DELETE CASCADE"},
	{"comments", "comments_postid_fkey", "FOREIGN KEY (postid) REFERENCES posts (postid) ON DELETE CASCADE"},
	{"likes", "likes_owner_fkey", "FOREIGN KEY (owner) REFERENCES users (username) ON DELETE CASCADE"},
	{"likes", "likes_postid_fkey", "FOREIGN KEY (postid) REFERENCES posts (postid) ON DELETE CASCADE"},
}

var pgBulkIndexes = []struct{ name, def string }{
	{"posts_owner_postid", "CREATE INDEX posts_owner_postid ON posts (owner, postid)"},
	{"posts_filename", "CREATE INDEX posts_filename ON posts (filename)"},
	{"following_followee", "CREATE INDEX following_followee ON following (followee, follower)"},
	{"comments_postid", "CREATE INDEX comments_postid ON comments (postid, commentid)"},
	{"comments_owner", "CREATE INDEX comments_owner ON comments (owner)"},
	{"likes_postid_owner", "CREATE UNIQUE INDEX likes_postid_owner ON likes (postid, owner)"},
	{"likes_owner", "CREATE INDEX likes_owner ON likes (owner)"},
}

func (postgresEngine) bulkPrepare(ctx context.Context, tx *sql.Tx) error {
	stmts := []string{"SET LOCAL maintenance_work_mem = '256MB'"}
	for _, c := range pgBulkConstraints {
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", c.table, c.name))
	}
	for _, ix := range pgBulkIndexes {
		stmts = append(stmts, "DROP INDEX "+ix.name)
	}
	return execAll(ctx, tx, stmts)
}

func (postgresEngine) bulkFinish(ctx context.Context, tx *sql.Tx) error {
	var stmts []string
	for _, ix := range pgBulkIndexes {
		stmts = append(stmts, ix.def)
	}
	for _, c := range pgBulkConstraints {
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", c.table, c.name, c.def))
	}
	stmts = append(stmts, "ANALYZE users", "ANALYZE posts", "ANALYZE following", "ANALYZE comments", "ANALYZE likes")
	return execAll(ctx, tx, stmts)
}

func execAll(ctx context.Context, tx *sql.Tx, stmts []string) error {
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// setNextID makes the target hand out last+1 as t's next id.
func (postgresEngine) setNextID(ctx context.Context, tx *sql.Tx, table, col string, last int64) error {
	var err error
	if last > 0 {
		_, err = tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence($1, $2), $3, true)", table, col, last)
	} else {
		_, err = tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence($1, $2), 1, false)", table, col)
	}
	return err
}

// copyWrite streams one table's rows into the target with COPY.
func (postgresEngine) copyWrite(ctx context.Context, conn *sql.Conn, _ *sql.Tx, t copyTable, r *copyReader) error {
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, r); err != nil {
			if r.err != nil {
				return r.err
			}
			return fmt.Errorf("copy into %s: %w", t.name, err)
		}
		return nil
	})
}

// copyReadBack checksums the target's rows of t as the copy's transaction
// (on conn) sees them, read through pgx directly.
func (postgresEngine) copyReadBack(ctx context.Context, conn *sql.Conn, _ *sql.Tx, t copyTable, total int64, progress func(CopyProgress)) (rowSum, error) {
	var sum rowSum
	err := conn.Raw(func(dc any) error {
		rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, "SELECT "+joinCols(t.cols)+" FROM "+t.name)
		if err != nil {
			return err
		}
		defer rows.Close()
		sum, err = checksumRows(t, rows, total, progress)
		return err
	})
	return sum, err
}

func pgCopyViolation(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return nil
	}
	switch pgErr.Code {
	case "23503":
		return fmt.Errorf("the source's %s has rows that refer to something that no longer exists (%s): %s", pgErr.TableName, pgErr.Detail, copyViolationFix)
	case "23505":
		return fmt.Errorf("the source's %s has duplicate rows (%s): %s", pgErr.TableName, pgErr.Detail, copyViolationFix)
	}
	return nil
}
