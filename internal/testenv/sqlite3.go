package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// SQLite3 returns the path of the sqlite3 command-line tool, for tests that
// build a database the way users do. Without it the test is skipped, except
// under CI, where that fails the run.
func SQLite3(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the sqlite3 command-line tool is required under CI (apt-get install sqlite3)")
		}
		t.Skip("sqlite3 command-line tool not installed")
	}
	return p
}
