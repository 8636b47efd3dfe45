package dbadmin

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/insta485/insta485/internal/storage"
)

// engine is what differs between the backends for the operator tools: bulk
// loading and copying. Each implementation lives in the files named for its
// engine (postgres_bulk.go, sqlite_bulk.go).
type engine interface {
	// pauseFeed stops the feed triggers for the rest of a bulk load's
	// transaction (and sets aside what slows a bulk fill of feed); resume
	// puts them back. The loader rebuilds feed in between.
	pauseFeed(ctx context.Context, tx *sql.Tx) (resume func() error, err error)
	// feedFillOrder ends the statement that fills feed: the order its rows
	// are best inserted in.
	feedFillOrder() string
	// secondsAgo is an SQL expression for the UTC time col seconds ago.
	secondsAgo(col string) string
	// bulkStage fills the bulk loader's staging tables.
	bulkStage(ctx context.Context, conn *sql.Conn, tx *sql.Tx, b *bulkData) error
	// bulkPrepare and bulkFinish bracket a bulk load, for backends that load
	// faster with constraints set aside.
	bulkPrepare(ctx context.Context, tx *sql.Tx) error
	bulkFinish(ctx context.Context, tx *sql.Tx) error
	// setNextID makes the table's id column hand out last+1 next (copy.go).
	setNextID(ctx context.Context, tx *sql.Tx, table, col string, last int64) error
	// copyWrite writes one table's rows into the copy's target, and
	// copyReadBack checksums them as the copy's transaction sees them.
	copyWrite(ctx context.Context, conn *sql.Conn, tx *sql.Tx, t copyTable, r *copyReader) error
	copyReadBack(ctx context.Context, conn *sql.Conn, tx *sql.Tx, t copyTable, total int64, progress func(CopyProgress)) (rowSum, error)
}

func engineOf(s *storage.Store) engine {
	if s.Backend() == "postgres" {
		return postgresEngine{}
	}
	return sqliteEngine{}
}

// RebuildFeed empties feed and fills it again from posts and following in
// one INSERT … SELECT. The triggers keep feed right as rows change; this is
// for the bulk loader and copy, which set the triggers aside, and for an
// operator who changed the tables with the triggers off.
func RebuildFeed(ctx context.Context, s *storage.Store) error {
	return s.Transact(ctx, func(tx *sql.Tx) error { return rebuildFeed(ctx, s, tx) })
}

func rebuildFeed(ctx context.Context, s *storage.Store, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM feed"); err != nil {
		return fmt.Errorf("empty feed: %w", err)
	}
	if _, err := tx.ExecContext(ctx, storage.FeedFillSQL+engineOf(s).feedFillOrder()); err != nil {
		return fmt.Errorf("fill feed: %w", err)
	}
	return nil
}
