package storage

import (
	"context"
	"fmt"
	"strings"
)

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
