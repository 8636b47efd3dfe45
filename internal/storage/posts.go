package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Post is a post with everything a feed entry or post page shows.
type Post struct {
	PostID        int64
	Filename      string
	Owner         string
	OwnerFilename string
	Created       time.Time
	Likes         int
	// LognameLikeID is the viewing user's like of this post, 0 when none.
	LognameLikeID int64
	Comments      []Comment // oldest first
}

// PostThumb is a post as a user page lists it.
type PostThumb struct {
	PostID   int64
	Filename string
}

// CreatePost adds a post by owner showing filename and returns its id.
func (s *Store) CreatePost(ctx context.Context, owner, filename string) (int64, error) {
	var id int64
	err := s.queryRowWrite(ctx,
		"INSERT INTO posts (filename, owner) VALUES ($1, $2) RETURNING postid", filename, owner).Scan(&id)
	if s.dialect.isForeignKeyViolation(err) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("create post: %w", err)
	}
	s.afterWrite(ctx)
	return id, nil
}

// DeletePost removes postid (with its comments and likes) if logname owns it
// and returns the image files nothing refers to any more. ErrNotFound when
// there is no such post, ErrForbidden when logname does not own it.
func (s *Store) DeletePost(ctx context.Context, postid int64, logname string) (orphans []string, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var owner, filename string
		err := tx.QueryRowContext(ctx, "SELECT owner, filename FROM posts WHERE postid = $1"+s.dialect.forUpdate(), postid).Scan(&owner, &filename)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if owner != logname {
			return ErrForbidden
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM posts WHERE postid = $1", postid); err != nil {
			return fmt.Errorf("delete post: %w", err)
		}
		orphans, err = unreferenced(ctx, tx, []string{filename})
		return err
	})
	return orphans, err
}

// PostExists reports whether postid exists.
func (s *Store) PostExists(ctx context.Context, postid int64) (bool, error) {
	var n int
	err := s.read(ctx, func(q readQuerier) error {
		return q.QueryRowContext(ctx, "SELECT count(*) FROM posts WHERE postid = $1", postid).Scan(&n)
	})
	return n > 0, err
}

// PostsByOwner lists owner's posts, newest first.
func (s *Store) PostsByOwner(ctx context.Context, owner string) ([]PostThumb, error) {
	var out []PostThumb
	err := s.read(ctx, func(q readQuerier) error {
		out = nil
		rows, err := q.QueryContext(ctx,
			"SELECT postid, filename FROM posts WHERE owner = $1 ORDER BY postid DESC", owner)
		if err != nil {
			return fmt.Errorf("list posts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var p PostThumb
			if err := rows.Scan(&p.PostID, &p.Filename); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// Post returns one post as seen by logname, or ErrNotFound.
func (s *Store) Post(ctx context.Context, postid int64, logname string) (Post, error) {
	ps, err := s.Posts(ctx, []int64{postid}, logname)
	if err != nil {
		return Post{}, err
	}
	if len(ps) == 0 {
		return Post{}, ErrNotFound
	}
	return ps[0], nil
}

// Posts returns the posts with the given ids, in that order, as seen by
// logname; ids that do not exist are left out. It runs two queries whatever
// the number of posts: one for the posts with their like counts, one for all
// their comments.
func (s *Store) Posts(ctx context.Context, ids []int64, logname string) ([]Post, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, logname)
	for _, id := range ids {
		args = append(args, id)
	}
	var byID map[int64]*Post
	err := s.read(ctx, func(q readQuerier) error {
		var err error
		byID, err = s.readPosts(ctx, q, ids, args)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Post, 0, len(byID))
	for _, id := range ids {
		if p := byID[id]; p != nil {
			out = append(out, *p)
		}
	}
	return out, nil
}

// readPosts runs Posts' two queries on q.
func (s *Store) readPosts(ctx context.Context, q readQuerier, ids []int64, args []any) (map[int64]*Post, error) {
	in := placeholders(2, len(ids))
	rows, err := q.QueryContext(ctx, `SELECT p.postid, p.filename, p.owner, u.filename, p.created,
		(SELECT count(*) FROM likes l WHERE l.postid = p.postid),
		COALESCE((SELECT l.likeid FROM likes l WHERE l.postid = p.postid AND l.owner = $1), 0)
		FROM posts p JOIN users u ON u.username = p.owner
		WHERE p.postid IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read posts: %w", err)
	}
	byID := make(map[int64]*Post, len(ids))
	for rows.Next() {
		p := new(Post)
		if err := rows.Scan(&p.PostID, &p.Filename, &p.Owner, &p.OwnerFilename, &p.Created, &p.Likes, &p.LognameLikeID); err != nil {
			rows.Close()
			return nil, err
		}
		p.Created = utc(p.Created)
		byID[p.PostID] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	comments, err := q.QueryContext(ctx,
		"SELECT commentid, postid, owner, text, created FROM comments WHERE postid IN ("+placeholders(1, len(ids))+") ORDER BY commentid",
		args[1:]...)
	if err != nil {
		return nil, fmt.Errorf("read comments: %w", err)
	}
	defer comments.Close()
	for comments.Next() {
		c, err := scanComment(comments)
		if err != nil {
			return nil, err
		}
		if p := byID[c.PostID]; p != nil {
			p.Comments = append(p.Comments, c)
		}
	}
	if err := comments.Err(); err != nil {
		return nil, err
	}
	return byID, nil
}
