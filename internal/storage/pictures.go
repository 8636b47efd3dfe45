package storage

import (
	"context"
	"fmt"
	"regexp"
)

// Picture is what a page needs to lay out an upload before its bytes
// arrive (table pictures, migration 0004): its size in pixels and a
// placeholder colour, "#rrggbb".
type Picture struct {
	Filename      string
	Width, Height int
	Color         string
}

var pictureColor = regexp.MustCompile(`^#[0-9a-f]{6}$`)

const putPicture = `INSERT INTO pictures (filename, width, height, color) VALUES ($1, $2, $3, $4)
	ON CONFLICT (filename) DO UPDATE SET width = excluded.width, height = excluded.height, color = excluded.color`

// PutPicture records p, replacing what was known of its file.
// ErrInvalid for a size below 1×1 or a colour that is not "#rrggbb".
func (s *Store) PutPicture(ctx context.Context, p Picture) error {
	if p.Filename == "" || p.Width < 1 || p.Height < 1 || !pictureColor.MatchString(p.Color) {
		return fmt.Errorf("%w: picture %+v", ErrInvalid, p)
	}
	if _, err := s.execWrite(ctx, putPicture, p.Filename, p.Width, p.Height, p.Color); err != nil {
		return fmt.Errorf("record picture %s: %w", p.Filename, err)
	}
	s.afterWrite(ctx)
	return nil
}

// Pictures returns what is known of the files names, by name; a file
// without a row (stored before migration 0004 and not yet run through
// `insta485 uploads reprocess`) is left out.
func (s *Store) Pictures(ctx context.Context, names []string) (map[string]Picture, error) {
	out := make(map[string]Picture, len(names))
	if len(names) == 0 {
		return out, nil
	}
	args := stringArgs(names)
	err := s.readOwnWrites(ctx, func(q reader) error {
		clear(out)
		rows, err := q.QueryContext(ctx, "SELECT filename, width, height, color FROM pictures WHERE filename IN ("+Placeholders(1, len(names))+")", args...)
		if err != nil {
			return fmt.Errorf("read pictures: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var p Picture
			if err := rows.Scan(&p.Filename, &p.Width, &p.Height, &p.Color); err != nil {
				return err
			}
			out[p.Filename] = p
		}
		return rows.Err()
	})
	return out, err
}

// DeletePictures forgets the files names: for a picture whose upload
// failed before a row named it (the triggers of migration 0004 forget the
// others).
func (s *Store) DeletePictures(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	if _, err := s.execWrite(ctx, "DELETE FROM pictures WHERE filename IN ("+Placeholders(1, len(names))+")", stringArgs(names)...); err != nil {
		return fmt.Errorf("forget pictures: %w", err)
	}
	s.afterWrite(ctx)
	return nil
}

// stringArgs are names as query arguments.
func stringArgs(names []string) []any {
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	return args
}
