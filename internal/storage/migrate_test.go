package storage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestMigrationRefusesCaseDuplicates: migration 2 makes usernames unique
// regardless of case. A database where names already differ only in case
// is not merged behind the operator's back: db migrate stops with a
// message listing them and what to do, changes nothing, and succeeds once
// they are resolved.
func TestMigrationRefusesCaseDuplicates(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		s, err := storage.CreateAtVersionForTest(ctx, testenv.NewDatabase(t, backend), 1)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, name := range []string{"Bob", "bob", "BOB", "alice", "carol", "Carol"} {
			if err := s.CreateUser(ctx, storage.User{Username: name, Fullname: "x", Email: "x", Filename: "x.jpg", Password: "x"}); err != nil {
				t.Fatalf("create %s at version 1: %v", name, err)
			}
		}
		n, err := dbadmin.Migrate(ctx, s)
		if err == nil {
			t.Fatalf("Migrate applied %d migrations over usernames that differ only in case", n)
		}
		for _, want := range []string{"Bob", "bob", "BOB", "Carol", "carol", "db migrate"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the error does not name %q: %v", want, err)
			}
		}
		if strings.Contains(err.Error(), "alice") {
			t.Errorf("the error names alice, who has no duplicate: %v", err)
		}
		if v, _ := s.SchemaVersion(ctx); v != 1 {
			t.Errorf("schema version after the refused migration = %d, want 1", v)
		}
		for _, gone := range []string{"bob", "BOB", "carol"} {
			if _, err := s.DeleteUser(ctx, gone); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := dbadmin.Migrate(ctx, s); err != nil || n != s.LatestVersion()-1 {
			t.Fatalf("Migrate after resolving = %d, %v; want every migration after the first", n, err)
		}
		if err := s.CreateUser(ctx, storage.User{Username: "ALICE", Fullname: "x", Email: "x", Filename: "x.jpg", Password: "x"}); err != storage.ErrConflict {
			t.Errorf("ALICE next to alice = %v, want ErrConflict", err)
		}
	})
}
