package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is a row of users. Password is the stored hash, never a password.
type User struct {
	Username string
	Fullname string
	Email    string
	Filename string
	Password string
	Created  time.Time
}

// Profile is a user with the counts the user page shows.
type Profile struct {
	User
	Posts     int
	Followers int
	Following int
	// LognameFollows says whether the viewing user follows this one.
	LognameFollows bool
}

// CreateUser adds u; ErrConflict when the username is taken.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	_, err := s.execWrite(ctx,
		"INSERT INTO users (username, fullname, email, filename, password) VALUES ($1, $2, $3, $4, $5)",
		u.Username, u.Fullname, u.Email, u.Filename, u.Password)
	if s.dialect.isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	s.afterWrite(ctx)
	return nil
}

// User returns the user called username, or ErrNotFound.
func (s *Store) User(ctx context.Context, username string) (User, error) {
	var u User
	err := s.readOwnWrites(ctx, func(q reader) error {
		return q.QueryRowContext(ctx,
			"SELECT username, fullname, email, filename, password, created FROM users WHERE username = $1",
			username).Scan(&u.Username, &u.Fullname, &u.Email, &u.Filename, &u.Password, &u.Created)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("read user: %w", err)
	}
	u.Created = utc(u.Created)
	return u, nil
}

// Profile returns username with its counts as seen by logname.
func (s *Store) Profile(ctx context.Context, username, logname string) (Profile, error) {
	l := &ProfileLoad{Username: username}
	if err := s.load(ctx, logname, l); err != nil {
		return Profile{}, err
	}
	if !l.Found {
		return Profile{}, ErrNotFound
	}
	return l.Profile, nil
}

// UpdateUser sets fullname and email and, when filename is not empty, the
// profile image. It returns the files nothing refers to any more.
func (s *Store) UpdateUser(ctx context.Context, username, fullname, email, filename string) (orphans []string, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, "SELECT filename FROM users WHERE username = $1"+s.dialect.forUpdate(), username).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if filename == "" {
			filename = old
		}
		if _, err := tx.ExecContext(ctx,
			"UPDATE users SET fullname = $1, email = $2, filename = $3 WHERE username = $4",
			fullname, email, filename, username); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if old != filename {
			orphans, err = unreferenced(ctx, tx, []string{old})
		}
		return err
	})
	return orphans, err
}

// SetPassword stores a new password hash for username and, in the same
// transaction, ends every session of username: whoever knew the old
// password is logged out everywhere.
func (s *Store) SetPassword(ctx context.Context, username, hash string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password = $1 WHERE username = $2", hash, username)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE username = $1", username); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return nil
	})
}

// ReplacePassword stores newHash for username only if the stored hash is
// still oldHash, so two logins upgrading the same legacy hash at once agree
// on one. ErrConflict when it was changed meanwhile.
func (s *Store) ReplacePassword(ctx context.Context, username, oldHash, newHash string) error {
	res, err := s.execWrite(ctx, "UPDATE users SET password = $1 WHERE username = $2 AND password = $3", newHash, username, oldHash)
	if err != nil {
		return fmt.Errorf("replace password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	s.afterWrite(ctx)
	return nil
}

// DeleteUser removes username with their posts, comments, likes and follow
// edges, and returns the image files nothing refers to any more.
func (s *Store) DeleteUser(ctx context.Context, username string) (orphans []string, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Locking the user first keeps new posts (whose foreign key waits
		// on this row) from slipping in between listing files and deleting.
		var name string
		err := tx.QueryRowContext(ctx, "SELECT username FROM users WHERE username = $1"+s.dialect.forUpdate(), username).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		files, err := queryStrings(ctx, tx,
			"SELECT filename FROM users WHERE username = $1 UNION SELECT filename FROM posts WHERE owner = $1", username)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM users WHERE username = $1", username)
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		orphans, err = unreferenced(ctx, tx, files)
		return err
	})
	return orphans, err
}

// unreferenced returns those of files that no user or post refers to.
// Generated bulk data shares image files between posts, so a file is only
// removed once its last reference is gone.
func unreferenced(ctx context.Context, tx *sql.Tx, files []string) ([]string, error) {
	var out []string
	const chunk = 500
	for len(files) > 0 {
		batch := files[:min(chunk, len(files))]
		files = files[len(batch):]
		args := make([]any, len(batch))
		for i, f := range batch {
			args[i] = f
		}
		in := Placeholders(1, len(batch))
		used, err := queryStrings(ctx, tx,
			"SELECT filename FROM users WHERE filename IN ("+in+") UNION SELECT filename FROM posts WHERE filename IN ("+in+")",
			args...)
		if err != nil {
			return nil, err
		}
		inUse := make(map[string]bool, len(used))
		for _, u := range used {
			inUse[u] = true
		}
		for _, f := range batch {
			if !inUse[f] {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryColumn runs a query returning one column and collects its values.
func queryColumn[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	return queryColumn[string](ctx, q, query, args...)
}
