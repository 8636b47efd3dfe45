package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/insta485/insta485/internal/storage/postgres"
)

// Comment is a row of comments.
type Comment struct {
	CommentID int64
	PostID    int64
	Owner     string
	Text      string
	Created   time.Time
}

func scanComment(row interface{ Scan(...any) error }) (Comment, error) {
	var c Comment
	err := row.Scan(&c.CommentID, &c.PostID, &c.Owner, &c.Text, &c.Created)
	c.Created = utc(c.Created)
	return c, err
}

// CreateComment adds owner's comment on postid; ErrNotFound when the post
// does not exist.
func (s *Store) CreateComment(ctx context.Context, owner string, postid int64, text string) (c Comment, err error) {
	insert := func() error {
		c, err = scanComment(s.queryRowWrite(ctx,
			"INSERT INTO comments (owner, postid, text) VALUES ($1, $2, $3) RETURNING commentid, postid, owner, text, created",
			owner, postid, text))
		return err
	}
	err = insert()
	if returned := c.CommentID; returned != 0 {
		// The row came back before the connection broke: the primary
		// has the comment if it has that row.
		err = s.settle(err, func() (bool, error) {
			c, err = scanComment(s.primary.QueryRowContext(ctx,
				"SELECT commentid, postid, owner, text, created FROM comments WHERE commentid = $1 AND owner = $2 AND postid = $3 AND text = $4",
				returned, owner, postid, text))
			return found(err)
		}, insert)
	}
	if s.dialect.isForeignKeyViolation(err) {
		return Comment{}, ErrNotFound
	}
	if err != nil {
		return Comment{}, fmt.Errorf("create comment: %w", err)
	}
	s.afterWrite(ctx)
	return c, nil
}

// Comment returns one comment, or ErrNotFound.
func (s *Store) Comment(ctx context.Context, commentid int64) (Comment, error) {
	var c Comment
	err := s.readOwnWrites(ctx, func(q reader) (err error) {
		c, err = scanComment(q.QueryRowContext(ctx,
			"SELECT commentid, postid, owner, text, created FROM comments WHERE commentid = $1", commentid))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Comment{}, ErrNotFound
	}
	if err != nil {
		return Comment{}, fmt.Errorf("read comment: %w", err)
	}
	return c, nil
}

// DeleteComment removes commentid if logname owns it: ErrNotFound when there
// is no such comment, ErrForbidden when it is someone else's.
func (s *Store) DeleteComment(ctx context.Context, commentid int64, logname string) error {
	return s.deleteOwned(ctx, "comments", "commentid", commentid, logname)
}

// deleteOwned deletes the row of table whose key column is id, if logname
// owns it: one statement when it does, a second to tell which error it is
// when it does not.
func (s *Store) deleteOwned(ctx context.Context, table, key string, id int64, logname string) error {
	query := "DELETE FROM " + table + " WHERE " + key + " = $1 AND owner = $2"
	res, err := s.execWrite(ctx, query, id, logname)
	unknown := postgres.OutcomeUnknown(err)
	err = s.settle(err, nil, func() (err error) {
		res, err = s.execWrite(ctx, query, id, logname)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		s.afterWrite(ctx)
		return nil
	}
	var owner string
	err = s.primary.QueryRowContext(ctx, "SELECT owner FROM "+table+" WHERE "+key+" = $1", id).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows) && unknown:
		return nil // the first attempt deleted it after all
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case owner != logname:
		return ErrForbidden
	}
	return ErrNotFound // deleted meanwhile by its owner
}
