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
	insert := func() error {
		return s.queryRowWrite(ctx,
			"INSERT INTO posts (filename, owner) VALUES ($1, $2) RETURNING postid", filename, owner).Scan(&id)
	}
	// An upload's name is new (blob.NewName): the primary has the post if
	// it has a post showing it. (Answering 503 for a post that was stored
	// would have the upload handler remove its picture.)
	err := s.settle(insert(), func() (bool, error) {
		return found(s.primary.QueryRowContext(ctx, "SELECT postid FROM posts WHERE filename = $1 AND owner = $2", filename, owner).Scan(&id))
	}, insert)
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
	err := s.readOwnWrites(ctx, func(q reader) error {
		return q.QueryRowContext(ctx, "SELECT count(*) FROM posts WHERE postid = $1", postid).Scan(&n)
	})
	return n > 0, err
}

// PostsByOwner lists owner's posts, newest first.
func (s *Store) PostsByOwner(ctx context.Context, owner string) ([]PostThumb, error) {
	var out []PostThumb
	err := s.readOwnWrites(ctx, func(q reader) error {
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
	l := &PostLoad{PostID: postid}
	if err := s.load(ctx, logname, l); err != nil {
		return Post{}, err
	}
	if !l.Found {
		return Post{}, ErrNotFound
	}
	return l.Post, nil
}

// Posts returns the posts with the given ids, in that order, as seen by
// logname; ids that do not exist are left out. It runs one statement
// whatever the number of posts (see reads.go).
func (s *Store) Posts(ctx context.Context, ids []int64, logname string) ([]Post, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	l := &postsLoad{ids: ids}
	if err := s.load(ctx, logname, l); err != nil {
		return nil, err
	}
	byID := make(map[int64]Post, len(l.posts))
	for _, p := range l.posts {
		byID[p.PostID] = p
	}
	out := make([]Post, 0, len(byID))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}
