package dbadmin

import (
	"errors"
	"fmt"
	"os"
)

// sqliteFiles are the files that make up an SQLite database.
func sqliteFiles(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + "-journal"}
}

func sqliteDestroy(path string) error {
	for _, f := range sqliteFiles(path) {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", f, err)
		}
	}
	return nil
}
