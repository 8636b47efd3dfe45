package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/insta485/insta485/internal/storage/postgres"
)

// Like is a row of likes.
type Like struct {
	LikeID int64
	Owner  string
	PostID int64
}

// likeStatement inserts a like, returning its id and 1, or on a like that
// already exists its id and 0, in one statement. SQLite cannot put an
// INSERT in a WITH, so there a like that exists returns no row and Like
// reads it next.
const (
	likeStatement = `WITH ins AS (INSERT INTO likes (owner, postid) VALUES ($1, $2)
		ON CONFLICT (postid, owner) DO NOTHING RETURNING likeid)
	SELECT likeid, 1 FROM ins
	UNION ALL SELECT likeid, 0 FROM likes WHERE postid = $2 AND owner = $1 AND NOT EXISTS (SELECT 1 FROM ins)`
	likeStatementSQLite = `INSERT INTO likes (owner, postid) VALUES ($1, $2)
		ON CONFLICT (postid, owner) DO NOTHING RETURNING likeid, 1`
	unlikeStatement = "DELETE FROM likes WHERE owner = $1 AND postid = $2"
)

// Like makes owner like postid. It returns the like and whether it is new:
// liking a post twice returns the existing like with created false.
// ErrNotFound when the post does not exist.
func (s *Store) Like(ctx context.Context, owner string, postid int64) (like Like, created bool, err error) {
	like = Like{Owner: owner, PostID: postid}
	// On PostgreSQL the statement runs as a function (migration 0006).
	q := "SELECT * FROM insta485_like($1, $2)"
	if s.dialect.name() == "sqlite" {
		q = likeStatementSQLite
	}
	var isNew int
	err = s.queryRowWrite(ctx, q, owner, postid).Scan(&like.LikeID, &isNew)
	// The statement reads what is there, so it may run again; a like
	// that came back new before the connection broke stays new.
	returned, wasNew := like.LikeID, isNew == 1
	err = s.settle(err, nil, func() error {
		err := s.queryRowWrite(ctx, q, owner, postid).Scan(&like.LikeID, &isNew)
		if err == nil && wasNew && returned == like.LikeID {
			isNew = 1
		}
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		// The like exists but the statement did not see it: on SQLite
		// always, on PostgreSQL when it committed after the statement began.
		err = s.primary.QueryRowContext(ctx, "SELECT likeid, 0 FROM likes WHERE postid = $1 AND owner = $2", postid, owner).Scan(&like.LikeID, &isNew)
	}
	switch {
	case s.dialect.isForeignKeyViolation(err):
		return Like{}, false, ErrNotFound
	case err != nil:
		return Like{}, false, fmt.Errorf("like: %w", err)
	}
	s.afterWrite(ctx)
	return like, isNew == 1, nil
}

// Unlike removes owner's like of postid; ErrConflict when there is none.
func (s *Store) Unlike(ctx context.Context, owner string, postid int64) error {
	var n int64
	unlike := func() error {
		if s.dialect.name() == "sqlite" {
			res, err := s.execWrite(ctx, unlikeStatement, owner, postid)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		}
		// The statement as a function (migration 0006).
		return s.queryRowWrite(ctx, "SELECT insta485_unlike($1, $2)", owner, postid).Scan(&n)
	}
	err := unlike()
	unknown := postgres.OutcomeUnknown(err)
	if err = s.settle(err, nil, unlike); err != nil {
		return fmt.Errorf("unlike: %w", err)
	}
	if n == 0 && !unknown {
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
