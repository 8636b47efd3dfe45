package storage

import (
	"context"
	"fmt"
	"strings"
)

// EXPLAIN, for the tests that keep the hot reads on their indexes
// (TestHotQueryPlansUseIndexes).

// ExplainFeed returns the plan the database chooses for Feed's query for
// logname and page, one line per step, indented as the engine nests them:
// EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN on SQLite. It is how the tests
// check that the feed stays on its index. With generic, PostgreSQL shows the plan it uses for a prepared
// statement it plans once for any parameters (plan_cache_mode =
// force_generic_plan): what a statement cache or a PL/pgSQL trigger runs.
func (s *Store) ExplainFeed(ctx context.Context, logname string, page FeedPage, generic bool) ([]string, error) {
	query, args, ok, err := feedArgs(logname, page)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: feed page %+v is beyond any feed", ErrInvalid, page)
	}
	return s.explain(ctx, query, args, generic)
}

// explain returns the plan of query with args (see ExplainFeed).
func (s *Store) explain(ctx context.Context, query string, args []any, generic bool) ([]string, error) {
	if s.dialect.name() == "postgres" {
		return s.pgExplain(ctx, query, args, generic)
	}
	rows, err := s.latestDB.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	defer rows.Close()
	var lines []string
	depth := map[int]int{0: -1} // SQLite's steps name their parent; 0 is the root
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		depth[id] = depth[parent] + 1
		lines = append(lines, strings.Repeat("  ", depth[id])+detail)
	}
	return lines, rows.Err()
}
