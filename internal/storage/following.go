package storage

import (
	"context"
	"fmt"

	"github.com/insta485/insta485/internal/storage/postgres"
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
	const follow = "INSERT INTO following (follower, followee) VALUES ($1, $2)"
	_, err := s.execWrite(ctx, follow, follower, followee)
	unknown := postgres.OutcomeUnknown(err)
	err = s.settle(err, nil, func() (err error) {
		_, err = s.execWrite(ctx, follow, follower, followee)
		return err
	})
	switch {
	case s.dialect.isUniqueViolation(err) && unknown:
		// the first attempt stored it after all
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
	const unfollow = "DELETE FROM following WHERE follower = $1 AND followee = $2"
	res, err := s.execWrite(ctx, unfollow, follower, followee)
	unknown := postgres.OutcomeUnknown(err)
	err = s.settle(err, nil, func() (err error) {
		res, err = s.execWrite(ctx, unfollow, follower, followee)
		return err
	})
	if err != nil {
		return fmt.Errorf("unfollow: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 && !unknown {
		return ErrConflict
	}
	s.afterWrite(ctx)
	return nil
}

// Followers lists who follows username, as seen by logname.
func (s *Store) Followers(ctx context.Context, username, logname string) ([]Relation, error) {
	return s.relations(ctx, RelFollowers, username, logname)
}

// Following lists whom username follows, as seen by logname.
func (s *Store) Following(ctx context.Context, username, logname string) ([]Relation, error) {
	return s.relations(ctx, RelFollowing, username, logname)
}

// Explore lists every user logname does not follow, except logname.
func (s *Store) Explore(ctx context.Context, logname string) ([]Relation, error) {
	return s.relations(ctx, RelExplore, "", logname)
}

func (s *Store) relations(ctx context.Context, kind, username, logname string) ([]Relation, error) {
	l := &RelationsLoad{Kind: kind, Username: username}
	if err := s.load(ctx, logname, l); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return l.People, nil
}
