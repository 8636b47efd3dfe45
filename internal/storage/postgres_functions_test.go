package storage_test

import (
	"os"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/storage"
)

// The read functions are created by migration 0005 and sql/schema.sql from
// the SQL that SQLite runs inline (postgres_functions.go): a change to that
// SQL shows here, and needs a new migration that replaces the functions.
func TestReadFunctionsMatchInlineSQL(t *testing.T) {
	want := storage.ReadFunctionsSQL()
	for _, path := range []string{"migrations/postgres/0005_read_functions.sql", "../../sql/schema.sql"} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), strings.TrimSuffix(want, "\n")) {
			t.Errorf("%s does not hold the read functions as postgres_functions.go makes them; they are now:\n%s", path, want)
		}
	}
}

// The session check's, the like's and the unlike's functions are created
// by migration 0006 and sql/schema.sql from the statements SQLite runs
// inline.
func TestStatementFunctionsMatchInlineSQL(t *testing.T) {
	want := storage.StatementFunctionsSQL()
	for _, path := range []string{"migrations/postgres/0006_statement_functions.sql", "../../sql/schema.sql"} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), strings.TrimSuffix(want, "\n")) {
			t.Errorf("%s does not hold the statement functions as postgres_functions.go makes them; they are now:\n%s", path, want)
		}
	}
}
