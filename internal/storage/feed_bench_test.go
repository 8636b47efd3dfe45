package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/testenv"
)

// The write cost of the fanned-out feed: a new post adds one feed row per
// follower of its owner, a follow copies the followee's posts into the
// follower's feed. go test -run '^$' -bench FeedWrite ./internal/storage/
func BenchmarkFeedWrite(b *testing.B) {
	for _, backend := range testenv.Backends {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			s := testenv.NewStore(b, backend)
			profiles, posts := dbadmin.SampleImages()
			if _, err := dbadmin.Populate(ctx, s, dbadmin.Bulk{
				Users: 5000, Posts: 20_000, Files: posts, ProfileFiles: profiles, PasswordHash: "x", Seed: 485,
			}); err != nil {
				b.Fatal(err)
			}
			// jag gets 5,000 followers, michjc 50; awdeorio follows nobody.
			for _, q := range []string{
				"INSERT INTO following (follower, followee) SELECT username, 'jag' FROM users WHERE username LIKE 'u%'",
				"INSERT INTO following (follower, followee) SELECT username, 'michjc' FROM users WHERE username LIKE 'u%' ORDER BY username LIMIT 50",
				"DELETE FROM following WHERE follower = 'awdeorio'",
			} {
				if err := s.ExecForTest(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			for _, c := range []struct {
				owner     string
				followers int
			}{{"awdeorio", 0}, {"michjc", 50}, {"jag", 5000}} {
				b.Run(fmt.Sprintf("post+delete with %d followers", c.followers), func(b *testing.B) {
					for b.Loop() {
						id, err := s.CreatePost(ctx, c.owner, "bench.jpg")
						if err != nil {
							b.Fatal(err)
						}
						if _, err := s.DeletePost(ctx, id, c.owner); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			var target string
			if err := s.ExecForTest(ctx, "UPDATE posts SET owner = 'jflinn' WHERE postid IN (SELECT postid FROM posts ORDER BY postid LIMIT 100)"); err != nil {
				b.Fatal(err)
			}
			target = "jflinn"
			b.Run("follow+unfollow of a user with 100+ posts", func(b *testing.B) {
				for b.Loop() {
					if err := s.Follow(ctx, "awdeorio", target); err != nil {
						b.Fatal(err)
					}
					if err := s.Unfollow(ctx, "awdeorio", target); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
