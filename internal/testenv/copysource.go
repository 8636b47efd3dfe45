package testenv

import (
	"context"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
)

// CopySource makes an SQLite database of ours with the sample data, bulk
// data and deletes, including the newest post, and returns its path, the
// open store (a server still running on it) and the deleted post's id.
func CopySource(t *testing.T) (string, *storage.Store, int64) {
	t.Helper()
	ctx := context.Background()
	opts := NewDatabase(t, "sqlite")
	s := OpenCreated(t, opts)
	file := strings.Repeat("ab", 16) + ".jpg"
	if _, err := dbadmin.Populate(ctx, s, dbadmin.Bulk{Users: 20, Posts: 60, Follows: 50, Likes: 300, Comments: 40,
		Files: []string{file}, ProfileFiles: []string{file}, PasswordHash: "sha512$salt$00", Seed: 9}); err != nil {
		t.Fatal(err)
	}
	newest, err := s.CreatePost(ctx, "awdeorio", file)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Like(ctx, "jflinn", newest); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateComment(ctx, "jflinn", newest, "gone soon"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeletePost(ctx, newest, "awdeorio"); err != nil {
		t.Fatal(err)
	}
	if err := s.Unfollow(ctx, "awdeorio", "jflinn"); err != nil {
		t.Fatal(err)
	}
	return opts.DSN, s, newest
}
