package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// BenchmarkFeed measures what a person scrolling the feed waits for, through
// the real HTTP stack on each backend, with a database far larger than the
// sample: 1,000 users, 100,000 posts, 300,000 likes, 100,000 comments,
// awdeorio following about twenty people (a feed of a few thousand posts).
//
//	go test -run '^$' -bench . -benchtime 200x ./internal/app/
func BenchmarkFeed(b *testing.B) {
	for _, backend := range testenv.Backends {
		b.Run(backend, func(b *testing.B) {
			a := testenv.NewApp(b, backend)
			ctx := context.Background()
			profiles, posts := dbadmin.SampleImages()
			if _, err := dbadmin.Populate(ctx, a.Store, dbadmin.Bulk{
				Users: 1000, Posts: 100_000, Follows: 20_000, Likes: 300_000, Comments: 100_000,
				Files: posts, ProfileFiles: profiles, PasswordHash: "x", Seed: 485,
			}); err != nil {
				b.Fatal(err)
			}
			cookie := &http.Cookie{Name: auth.CookieName, Value: a.SessionCookie(b, "awdeorio")}
			ids, err := a.Store.Feed(ctx, "awdeorio", storage.FeedPage{Size: 1_000_000})
			if err != nil || len(ids) < 100 {
				b.Fatalf("awdeorio's feed has %d posts (%v); want hundreds", len(ids), err)
			}
			b.Logf("%s: awdeorio's feed holds %d posts", backend, len(ids))
			deep := fmt.Sprintf("/api/v1/posts/?size=10&page=%d&postid_lte=%d", len(ids)/20, ids[0])
			for _, c := range []struct{ name, path string }{
				{"feed page html", "/"},
				{"api feed page", "/api/v1/posts/"},
				{"api feed deep page", deep},
				{"api post detail", fmt.Sprintf("/api/v1/posts/%d/", ids[3])},
			} {
				b.Run(c.name, func(b *testing.B) {
					get(b, a.URL+c.path, cookie) // warm up
					for b.Loop() {
						get(b, a.URL+c.path, cookie)
					}
				})
			}
		})
	}
}

func get(b *testing.B, url string, cookie *http.Cookie) {
	req, _ := http.NewRequest("GET", url, nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
}
