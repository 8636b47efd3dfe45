package postgres_test

import (
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/storage/postgres"
)

// TestTLSWarning: serve warns when a server that is not on this machine is
// reached without verifying its certificate's host name, naming
// verify-full, and stays quiet otherwise.
func TestTLSWarning(t *testing.T) {
	cases := []struct {
		dsn  string
		warn bool
	}{
		{"postgres://app@db.example.com/insta485", true}, // libpq's default, prefer
		{"postgres://app@db.example.com/insta485?sslmode=require", true},
		{"postgres://app@db.example.com/insta485?sslmode=verify-ca", true},
		{"postgres://app@db.example.com/insta485?sslmode=disable", true},
		{"postgres://app@db.example.com/insta485?sslmode=verify-full", false},
		{"postgres://app@localhost/insta485?sslmode=disable", false},
		{"postgres://app@127.0.0.1/insta485", false},
		{"var/insta485.sqlite3", false},
	}
	for _, c := range cases {
		w := postgres.TLSWarning(postgres.Options{DSN: c.dsn})
		if c.warn != (w != "") || (c.warn && !strings.Contains(w, "verify-full")) {
			t.Errorf("TLSWarning(%s) = %q, want a warning naming verify-full: %v", c.dsn, w, c.warn)
		}
	}
}
