package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// FeedPage selects a page of a feed: Size posts after skipping Page*Size,
// among posts with ids up to PostIDLTE (0 means no bound).
type FeedPage struct {
	Size      int
	Page      int
	PostIDLTE int64
}

// feedPageQuery reads a page of one reader's rows of feed, the table the
// database keeps with triggers (migration 0003): one range of its primary
// key, newest first, whatever the reader follows.
const feedPageQuery = `SELECT postid FROM feed
	WHERE username = $1 AND postid <= $2
	ORDER BY postid DESC
	LIMIT $3 OFFSET $4`

// feedFill is every row feed should hold: each post for its owner and for
// each of the owner's followers. No row comes twice (following's key is
// (follower, followee) and a post has one owner), so it needs no DISTINCT.
const feedFill = `INSERT INTO feed (username, postid)
	SELECT f.follower, p.postid FROM following f JOIN posts p ON p.owner = f.followee WHERE f.follower <> f.followee
	UNION ALL SELECT owner, postid FROM posts`

// RebuildFeed empties feed and fills it again from posts and following in
// one INSERT … SELECT. The triggers keep feed right as rows change; this is
// for the bulk loader and copy, which set the triggers aside, and for an
// operator who changed the tables with the triggers off.
func (s *Store) RebuildFeed(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.rebuildFeed(ctx, tx) })
}

func (s *Store) rebuildFeed(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM feed"); err != nil {
		return fmt.Errorf("empty feed: %w", err)
	}
	if _, err := tx.ExecContext(ctx, feedFill+s.dialect.feedFillOrder()); err != nil {
		return fmt.Errorf("fill feed: %w", err)
	}
	return nil
}

// Feed returns the ids of the posts on logname's feed (their own and those
// of everyone they follow) for page, newest first. The work is bounded by
// the page (offset plus size rows of one index), never by the number of
// people followed or the size of posts.
// ErrInvalid for a page size below 1 or a negative page or bound.
func (s *Store) Feed(ctx context.Context, logname string, page FeedPage) ([]int64, error) {
	query, args, ok, err := feedArgs(logname, page)
	if err != nil || !ok {
		return nil, err
	}
	var ids []int64
	err = s.readOwnWrites(ctx, func(q reader) (err error) {
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
// its index. With generic, PostgreSQL shows the plan it uses for a prepared
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

// pgExplain explains query as a prepared statement on one connection. EXPLAIN
// EXECUTE takes no bind parameters, so the server quotes the arguments into
// the statement itself (format's %L), never this code.
func (s *Store) pgExplain(ctx context.Context, query string, args []any, generic bool) (lines []string, err error) {
	conn, err := s.latestDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	mode := "force_custom_plan"
	if generic {
		mode = "force_generic_plan"
	}
	if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = "+mode); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DEALLOCATE insta485_explain")
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "RESET plan_cache_mode")
	}()
	if _, err := conn.ExecContext(ctx, "PREPARE insta485_explain AS "+query); err != nil {
		return nil, fmt.Errorf("explain: prepare: %w", err)
	}
	format := "EXPLAIN EXECUTE insta485_explain(" + strings.TrimSuffix(strings.Repeat("%L, ", len(args)), ", ") + ")"
	var stmt string
	fargs := []any{format}
	casts := make([]string, len(args))
	for i, a := range args {
		fargs = append(fargs, fmt.Sprint(a))
		casts[i] = fmt.Sprintf("$%d::text", i+2)
	}
	q := "SELECT format($1" + strings.Join(append([]string{""}, casts...), ", ") + ")"
	if err := conn.QueryRowContext(ctx, q, fargs...).Scan(&stmt); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	rows, err := conn.QueryContext(ctx, stmt)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		lines = append(lines, line)
	}
	return lines, rows.Err()
}
