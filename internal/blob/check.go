package blob

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// CheckReport says what Check found.
type CheckReport struct {
	Files int // uploads and width variants in the store
	Names int // upload names the rows refer to
	// Orphans are files no row refers to (through their upload's name)
	// that are older than the grace period. Check removed them when asked.
	Orphans []string
	Removed int
	// Recent counts files no row refers to yet that are younger than the
	// grace period: most likely uploads whose row is being written.
	Recent int
	// Missing are names rows refer to that the store does not hold.
	Missing []string
}

// Check compares the store with the upload names the database refers to
// (known calls its function with each, as storage.Store.Filenames does).
// It reports files nothing refers to, and with fix removes those last
// changed more than grace ago: a crash between storing an upload and
// writing its row leaves one, and so does a failed delete. Younger ones are
// left alone, since a request may be about to write their row. It also
// reports names whose file is missing. It works through the Store
// interface only, so on every kind of store.
func Check(ctx context.Context, store Store, known func(context.Context, func(string) error) error, grace time.Duration, fix bool, now time.Time) (CheckReport, error) {
	var rep CheckReport
	// The rows first: a file stored after this is young, and so safe.
	names := map[string]bool{}
	if err := known(ctx, func(n string) error {
		names[n] = true
		return nil
	}); err != nil {
		return rep, err
	}
	rep.Names = len(names)
	present := map[string]bool{}
	var unreferenced []string
	if err := store.List(ctx, func(n string) error {
		rep.Files++
		main, w := MainName(n)
		if w == 0 {
			present[n] = true
		}
		if !names[main] {
			unreferenced = append(unreferenced, n)
		}
		return nil
	}); err != nil {
		return rep, fmt.Errorf("list the upload store: %w", err)
	}
	slices.Sort(unreferenced)
	for _, n := range unreferenced {
		f, err := store.Open(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return rep, fmt.Errorf("open %s: %w", n, err)
		}
		mod := f.ModTime()
		f.Close()
		if now.Sub(mod) < grace {
			rep.Recent++
			continue
		}
		rep.Orphans = append(rep.Orphans, n)
		if fix {
			if err := store.Delete(ctx, n); err != nil {
				return rep, fmt.Errorf("remove %s: %w", n, err)
			}
			rep.Removed++
		}
	}
	for n := range names {
		if !present[n] {
			rep.Missing = append(rep.Missing, n)
		}
	}
	slices.Sort(rep.Missing)
	return rep, nil
}
