package storage

import (
	"context"
	"fmt"
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
