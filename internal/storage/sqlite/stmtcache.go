package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// StmtCache keeps SQLite read statements prepared: parsing and planning a
// statement cost SQLite more than running these small indexed queries
// (pprof of the feed API: about 40% of the server's CPU). database/sql
// prepares a cached statement once on each pooled connection and reuses it.
// Only SQLite uses it: on PostgreSQL named prepared statements would break
// behind a transaction-mode pooler.
type StmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// stmtCacheMax bounds the cache; queries built with a variable number of
// placeholders (IN lists) beyond it simply run unprepared.
const stmtCacheMax = 128

// NewStmtCache returns a cache of db's statements.
func NewStmtCache(db *sql.DB) *StmtCache {
	return &StmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

func (c *StmtCache) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st
	}
	if len(c.m) >= stmtCacheMax {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // the unprepared path reports the error
	}
	c.m[query] = st
	return st
}

// QueryContext runs query, prepared when the cache has room.
func (c *StmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query, prepared when the cache has room.
func (c *StmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// Close closes the prepared statements (not db).
func (c *StmtCache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}
