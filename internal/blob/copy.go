package blob

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// CopyReport says what Copy did.
type CopyReport struct {
	Copied  int // files written to the destination
	Skipped int // files the destination already held with the same content
	Missing []string
}

// Copy copies the named files from src into dst and verifies each one by
// reading it back and comparing SHA-256 digests. A file dst already holds
// with the same content is skipped, so an interrupted copy can be run again.
// A name src does not hold is listed in the report's Missing, not an error:
// the caller decides whether that matters. progress, when not nil, is called
// after each file.
func Copy(ctx context.Context, dst, src Store, names []string, progress func(done, total int)) (CopyReport, error) {
	var rep CopyReport
	for i, name := range names {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		want, err := digest(ctx, src, name)
		if errors.Is(err, ErrNotFound) {
			rep.Missing = append(rep.Missing, name)
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("read %s from the source store: %w", name, err)
		}
		if have, err := digest(ctx, dst, name); err == nil && have == want {
			rep.Skipped++
		} else {
			if err := copyOne(ctx, dst, src, name); err != nil {
				return rep, err
			}
			have, err := digest(ctx, dst, name)
			if err != nil {
				return rep, fmt.Errorf("verify %s in the destination store: %w", name, err)
			}
			if have != want {
				return rep, fmt.Errorf("verify %s: the destination's copy differs from the source (checksum mismatch); run the copy again", name)
			}
			rep.Copied++
		}
		if progress != nil {
			progress(i+1, len(names))
		}
	}
	return rep, nil
}

// Names lists every upload a store holds.
func Names(ctx context.Context, s Store) ([]string, error) {
	var names []string
	err := s.List(ctx, func(name string) error {
		names = append(names, name)
		return nil
	})
	return names, err
}

func copyOne(ctx context.Context, dst, src Store, name string) error {
	f, err := src.Open(ctx, name)
	if err != nil {
		return fmt.Errorf("read %s from the source store: %w", name, err)
	}
	defer f.Close()
	if err := dst.Put(ctx, name, f); err != nil {
		return fmt.Errorf("write %s to the destination store: %w", name, err)
	}
	return nil
}

func digest(ctx context.Context, s Store, name string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := s.Open(ctx, name)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}
