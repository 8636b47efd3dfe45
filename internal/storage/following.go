package storage

import (
	"context"
	"fmt"
)

// Relation is a user in a list (followers, following, explore) with whether
// the viewing user follows them.
type Relation struct {
	Username       string
	Filename       string
	LognameFollows bool
}

// Follow makes follower follow followee. ErrConflict when already following,
// ErrNotFound when either user does not exist, ErrInvalid for oneself.
func (s *Store) Follow(ctx context.Context, follower, followee string) error {
	if follower == followee {
		return ErrInvalid
	}
	_, err := s.execWrite(ctx, "INSERT INTO following (follower, followee) VALUES ($1, $2)", follower, followee)
	switch {
	case s.dialect.isUniqueViolation(err):
		return ErrConflict
	case s.dialect.isForeignKeyViolation(err):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("follow: %w", err)
	}
	s.afterWrite(ctx)
	return nil
}

// Unfollow ends follower following followee; ErrConflict when not following.
func (s *Store) Unfollow(ctx context.Context, follower, followee string) error {
	res, err := s.execWrite(ctx, "DELETE FROM following WHERE follower = $1 AND followee = $2", follower, followee)
	if err != nil {
		return fmt.Errorf("unfollow: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	s.afterWrite(ctx)
	return nil
}

// Followers lists who follows username, as seen by logname.
func (s *Store) Followers(ctx context.Context, username, logname string) ([]Relation, error) {
	return s.relations(ctx, `SELECT u.username, u.filename,
		EXISTS (SELECT 1 FROM following x WHERE x.follower = $2 AND x.followee = u.username)
		FROM following f JOIN users u ON u.username = f.follower
		WHERE f.followee = $1 ORDER BY u.username`, username, logname)
}

// Following lists whom username follows, as seen by logname.
func (s *Store) Following(ctx context.Context, username, logname string) ([]Relation, error) {
	return s.relations(ctx, `SELECT u.username, u.filename,
		EXISTS (SELECT 1 FROM following x WHERE x.follower = $2 AND x.followee = u.username)
		FROM following f JOIN users u ON u.username = f.followee
		WHERE f.follower = $1 ORDER BY u.username`, username, logname)
}

// Explore lists every user logname does not follow, except logname.
func (s *Store) Explore(ctx context.Context, logname string) ([]Relation, error) {
	return s.relations(ctx, `SELECT u.username, u.filename, false
		FROM users u
		WHERE u.username <> $1
		  AND NOT EXISTS (SELECT 1 FROM following f WHERE f.follower = $1 AND f.followee = u.username)
		ORDER BY u.username`, logname)
}

func (s *Store) relations(ctx context.Context, query string, args ...any) ([]Relation, error) {
	var out []Relation
	err := s.read(ctx, func(q readQuerier) error {
		out = nil
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r Relation
			if err := rows.Scan(&r.Username, &r.Filename, &r.LognameFollows); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}
