package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Like is a row of likes.
type Like struct {
	LikeID int64
	Owner  string
	PostID int64
}

// Like makes owner like postid. It returns the like and whether it is new:
// liking a post twice returns the existing like with created false.
// ErrNotFound when the post does not exist.
func (s *Store) Like(ctx context.Context, owner string, postid int64) (like Like, created bool, err error) {
	like = Like{Owner: owner, PostID: postid}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			"INSERT INTO likes (owner, postid) VALUES ($1, $2) ON CONFLICT (postid, owner) DO NOTHING RETURNING likeid",
			owner, postid).Scan(&like.LikeID)
		if err == nil {
			created = true
			return nil
		}
		if s.dialect.isForeignKeyViolation(err) {
			return ErrNotFound
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("like: %w", err)
		}
		return tx.QueryRowContext(ctx,
			"SELECT likeid FROM likes WHERE postid = $1 AND owner = $2", postid, owner).Scan(&like.LikeID)
	})
	return like, created, err
}

// Unlike removes owner's like of postid; ErrConflict when there is none.
func (s *Store) Unlike(ctx context.Context, owner string, postid int64) error {
	res, err := s.primary.ExecContext(ctx, "DELETE FROM likes WHERE owner = $1 AND postid = $2", owner, postid)
	if err != nil {
		return fmt.Errorf("unlike: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	s.afterWrite(ctx)
	return nil
}

// LikeByID returns one like, or ErrNotFound.
func (s *Store) LikeByID(ctx context.Context, likeid int64) (Like, error) {
	l := Like{LikeID: likeid}
	err := s.readOwnWrites(ctx, func(q reader) error {
		return q.QueryRowContext(ctx, "SELECT owner, postid FROM likes WHERE likeid = $1", likeid).Scan(&l.Owner, &l.PostID)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Like{}, ErrNotFound
	}
	if err != nil {
		return Like{}, fmt.Errorf("read like: %w", err)
	}
	return l, nil
}

// DeleteLike removes likeid if logname owns it: ErrNotFound when there is no
// such like, ErrForbidden when it is someone else's.
func (s *Store) DeleteLike(ctx context.Context, likeid int64, logname string) error {
	return s.deleteOwned(ctx, "likes", "likeid", likeid, logname)
}
