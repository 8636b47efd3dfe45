package storage_test

import (
	"os"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/storage"
)

// PostgreSQL's functions are created by migrations and sql/schema.sql from
// the SQL that SQLite runs inline (postgres_functions.go): a change to that
// SQL shows here, and needs a new migration that replaces the functions.
func TestFunctionsMatchInlineSQL(t *testing.T) {
	for _, c := range []struct {
		what, migration, want string
	}{
		{"the read functions", "migrations/postgres/0005_read_functions.sql", storage.ReadFunctionsSQL()},
		{"the session check's, the like's and the unlike's functions", "migrations/postgres/0006_statement_functions.sql", storage.StatementFunctionsSQL()},
	} {
		for _, path := range []string{c.migration, "../../sql/schema.sql"} {
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), strings.TrimSuffix(c.want, "\n")) {
				t.Errorf("%s does not hold %s as postgres_functions.go makes them; they are now:\n%s", path, c.what, c.want)
			}
		}
	}
}
