package storage

import (
	"context"
	"fmt"
)

// Filenames calls fn with every upload name a row refers to (users'
// photos and posts' pictures), each once, in no particular order. It
// streams: fn runs while the rows are read, so it must not use the store.
func (s *Store) Filenames(ctx context.Context, fn func(name string) error) error {
	rows, err := s.latestDB.QueryContext(ctx, "SELECT filename FROM users UNION SELECT filename FROM posts")
	if err != nil {
		return fmt.Errorf("list upload names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("list upload names: %w", err)
		}
		if err := fn(name); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list upload names: %w", err)
	}
	return nil
}
