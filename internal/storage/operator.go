package storage

import (
	"context"
	"database/sql"
)

// What the operator tools (internal/dbadmin: create, destroy, copy, bulk
// load, dump, sample data) use of a Store beyond the serving API. Requests
// never call these.

// Primary returns the pool that writes go to (the single writer on SQLite).
func (s *Store) Primary() *sql.DB { return s.primary }

// Transact runs fn in a write transaction on the primary, committing when
// fn returns nil, and records the write for read-your-writes.
func (s *Store) Transact(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, fn)
}

// RecordWrite records a write committed outside Transact (on a connection
// of Primary), so that later reads see it.
func (s *Store) RecordWrite(ctx context.Context) { s.afterWrite(ctx) }

// FeedFillSQL is the INSERT … SELECT that fills feed with every row it
// should hold, for loaders that set the feed triggers aside.
const FeedFillSQL = feedFill

// PostgresFunctions are the PostgreSQL functions the feed and pictures
// triggers run and the read functions (postgres_functions.go), by
// signature; dropping the tables leaves them behind.
var PostgresFunctions = append([]string{"feed_post_added()", "feed_post_removed()", "feed_follow_added()", "feed_follow_removed()", "feed_user_removed()", "pictures_file_unused()"},
	append(readFunctionSignatures(), viewerFunction, likeFunction, unlikeFunction)...)

func readFunctionSignatures() []string {
	var out []string
	for _, f := range readFunctions() {
		out = append(out, f.signature())
	}
	return out
}

// PostgresRole names the role and the database the store connected as and
// to ("" on SQLite), for messages that say which GRANT to run.
func (s *Store) PostgresRole() (user, database string) { return s.pgUser, s.pgDatabase }

// Reader returns the pool reads of the primary go to (read-only
// connections on SQLite; the primary's pool on PostgreSQL).
func (s *Store) Reader() *sql.DB { return s.latestDB }
