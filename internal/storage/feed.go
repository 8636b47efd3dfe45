package storage

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// FeedPage selects a page of a feed: Size posts after skipping Page*Size,
// among posts with ids up to PostIDLTE (0 means no bound).
type FeedPage struct {
	Size      int
	Page      int
	PostIDLTE int64
}

// feedQuery returns the SQL and arguments for page of logname's feed; ok is
// false when the page lies beyond any feed (its offset overflows). The SQL
// is the dialect's (see feedQuery in sqlite.go and postgres.go): one query
// does not plan well on both engines.
func (s *Store) feedQuery(logname string, page FeedPage) (query string, args []any, ok bool, err error) {
	if page.Size < 1 || page.Page < 0 || page.PostIDLTE < 0 {
		return "", nil, false, fmt.Errorf("%w: feed page %+v", ErrInvalid, page)
	}
	size, pageNo := int64(page.Size), int64(page.Page)
	if pageNo > 0 && size > (math.MaxInt64-size)/pageNo {
		return "", nil, false, nil
	}
	lte := page.PostIDLTE
	if lte == 0 {
		lte = math.MaxInt64
	}
	query, args = s.dialect.feedQuery(logname, lte, size, pageNo*size)
	return query, args, true, nil
}

// Feed returns the ids of the posts on logname's feed (their own and those
// of everyone they follow) for page, newest first. The work is bounded by
// the page and the number of people followed, never by the size of posts.
// ErrInvalid for a page size below 1 or a negative page or bound.
func (s *Store) Feed(ctx context.Context, logname string, page FeedPage) ([]int64, error) {
	query, args, ok, err := s.feedQuery(logname, page)
	if err != nil || !ok {
		return nil, err
	}
	var ids []int64
	err = s.read(ctx, func(q readQuerier) (err error) {
		ids, err = queryInts(ctx, q, query, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read feed: %w", err)
	}
	return ids, nil
}

// ExplainFeed returns the plan the database chooses for Feed's query for
// logname and page, one line per step, indented as the engine nests them:
// EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN on SQLite. It is how tests (and
// an operator wondering why feeds are slow) check that the feed stays on
// its indexes.
func (s *Store) ExplainFeed(ctx context.Context, logname string, page FeedPage) ([]string, error) {
	query, args, ok, err := s.feedQuery(logname, page)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: feed page %+v is beyond any feed", ErrInvalid, page)
	}
	if s.dialect.name() == "postgres" {
		lines, err := queryStrings(ctx, s.r, "EXPLAIN "+query, args...)
		if err != nil {
			return nil, fmt.Errorf("explain feed: %w", err)
		}
		return lines, nil
	}
	rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, fmt.Errorf("explain feed: %w", err)
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
