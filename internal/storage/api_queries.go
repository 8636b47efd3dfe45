package storage

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// The feed query of the REST API: the same page as Feed, read so that the
// work stays bounded by the page and the number of people followed, never
// by the size of posts.
//
// Feed's single query plans well on SQLite but not on PostgreSQL, which
// (with a LIMIT) prefers to walk posts_pkey newest first and filter by owner:
// an empty or sparse feed walks all of posts, and deep pages turn into a
// sequential scan of posts. PostgreSQL therefore gets a LATERAL join that
// reads at most page+1 pages of each owner's newest posts through
// posts_owner_postid; SQLite, which has no LATERAL, keeps Feed's query, for
// which it already searches posts_owner_postid per owner and sorts.

const (
	// sqliteFeedSQL: $1 logname, $2 highest postid, $3 size, $4 rows skipped.
	sqliteFeedSQL = `SELECT postid FROM posts
		WHERE owner IN (SELECT followee FROM following WHERE follower = $1 UNION ALL SELECT username FROM users WHERE username = $1)
		  AND postid <= $2
		ORDER BY postid DESC
		LIMIT $3 OFFSET $4`
	// postgresFeedSQL: as above, and $5 the rows skipped plus size. UNION
	// rather than UNION ALL: an owner listed twice would list posts twice.
	postgresFeedSQL = `SELECT p.postid
		FROM (SELECT followee AS owner FROM following WHERE follower = $1
		      UNION SELECT username FROM users WHERE username = $1) AS f
		CROSS JOIN LATERAL (
		      SELECT postid FROM posts
		      WHERE posts.owner = f.owner AND posts.postid <= $2
		      ORDER BY posts.postid DESC
		      LIMIT $5) AS p
		ORDER BY p.postid DESC
		LIMIT $3 OFFSET $4`
)

// feedQuery returns the SQL and arguments for page of logname's feed; ok is
// false when the page lies beyond any feed (its offset overflows).
func (s *Store) feedQuery(logname string, page FeedPage) (query string, args []any, ok bool, err error) {
	if page.Size < 1 || page.Page < 0 || page.PostIDLTE < 0 {
		return "", nil, false, fmt.Errorf("%w: feed page %+v", ErrInvalid, page)
	}
	size, pageNo := int64(page.Size), int64(page.Page)
	if pageNo > 0 && size > (math.MaxInt64-size)/pageNo {
		return "", nil, false, nil
	}
	offset := pageNo * size
	lte := page.PostIDLTE
	if lte == 0 {
		lte = math.MaxInt64
	}
	if s.dialect.name() == "postgres" {
		return postgresFeedSQL, []any{logname, lte, size, offset, offset + size}, true, nil
	}
	return sqliteFeedSQL, []any{logname, lte, size, offset}, true, nil
}

// APIFeed returns the ids of the posts on logname's feed (their own and
// those of everyone they follow) for page, newest first: what Feed returns,
// with plans that stay on the indexes (see above). ErrInvalid for a page
// size below 1 or a negative page or bound.
func (s *Store) APIFeed(ctx context.Context, logname string, page FeedPage) ([]int64, error) {
	query, args, ok, err := s.feedQuery(logname, page)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read feed: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ExplainFeed returns the plan the database chooses for APIFeed's query for
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
