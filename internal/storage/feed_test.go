package storage_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// populatedStore returns a store holding the sample data and a few
// thousand generated rows: enough for the planners to prefer an index to a
// scan whenever one pays. It also returns the sample user following the
// most people and a user with an empty feed.
func populatedStore(t *testing.T, backend string) (s *storage.Store, busy, lonely string) {
	t.Helper()
	ctx := context.Background()
	s = testenv.NewStore(t, backend)
	profiles, posts := storage.SampleImages()
	if _, err := s.Populate(ctx, storage.Bulk{
		Users: 300, Posts: 8000, Follows: 3000, Likes: 2000, Comments: 2000,
		Files: posts, ProfileFiles: profiles, PasswordHash: "x", Seed: 485,
	}); err != nil {
		t.Fatal(err)
	}
	// Generated users all follow someone; a new one's feed is empty, the
	// worst case for a plan that walks posts newest first.
	lonely = "lonely"
	if err := s.CreateUser(ctx, storage.User{Username: lonely, Fullname: "Lonely", Email: "lonely@example.com",
		Filename: profiles[0], Password: "x"}); err != nil {
		t.Fatal(err)
	}
	most := -1
	users := []string{"awdeorio", "jflinn", "michjc", "jag"}
	for _, u := range users {
		rs, err := s.Following(ctx, u, u)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) > most {
			busy, most = u, len(rs)
		}
	}
	return s, busy, lonely
}

// Feed must return exactly the page a brute-force reading of the tables
// gives, for feeds empty, small and large, shallow and deep pages, bounds.
func TestFeedMatchesReference(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		s, busy, lonely := populatedStore(t, backend)
		for _, user := range []string{"awdeorio", "jag", busy, lonely, "nobody"} {
			all := referenceFeed(t, s, user)
			for _, page := range []storage.FeedPage{
				{Size: 10}, {Size: 1}, {Size: 7, Page: 3}, {Size: 10, Page: 40}, {Size: 3, Page: 1000},
				{Size: 10, PostIDLTE: 4000}, {Size: 5, Page: 2, PostIDLTE: 6000}, {Size: 10, PostIDLTE: 1},
				{Size: 10000},
			} {
				var want []int64
				for _, id := range all {
					if page.PostIDLTE == 0 || id <= page.PostIDLTE {
						want = append(want, id)
					}
				}
				want = want[min(len(want), page.Page*page.Size):]
				want = want[:min(len(want), page.Size)]
				got, err := s.Feed(ctx, user, page)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("%s %+v: Feed %v, want %v", user, page, got, want)
				}
			}
		}
		// A page so deep its offset overflows is empty, not an error.
		if ids, err := s.Feed(ctx, "awdeorio", storage.FeedPage{Size: 1 << 62, Page: 4}); err != nil || len(ids) != 0 {
			t.Errorf("overflowing page: %v, %v", ids, err)
		}
		for _, bad := range []storage.FeedPage{{Size: 0}, {Size: -1}, {Size: 1, Page: -1}, {Size: 1, PostIDLTE: -1}} {
			if _, err := s.Feed(ctx, "awdeorio", bad); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("page %+v: err %v, want ErrInvalid", bad, err)
			}
		}
	})
}

// referenceFeed is user's whole feed, newest first, read the slow way.
func referenceFeed(t *testing.T, s *storage.Store, user string) []int64 {
	t.Helper()
	ctx := context.Background()
	owners := []string{user}
	following, err := s.Following(ctx, user, user)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range following {
		owners = append(owners, r.Username)
	}
	var ids []int64
	for _, o := range owners {
		posts, err := s.PostsByOwner(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range posts {
			ids = append(ids, p.PostID)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	return ids
}

var (
	// SQLite: posts searched by owner through an index, then sorted.
	sqlitePostsByOwner = regexp.MustCompile(`(?m)^\s*SEARCH posts USING (COVERING )?INDEX posts_owner_postid \(owner=\?`)
	sqliteScan         = regexp.MustCompile(`(?m)^\s*SCAN (posts|following|users)\b`)
	// PostgreSQL: posts read through the (owner, postid) index.
	pgPostsByOwner = regexp.MustCompile(`(Index Scan|Index Only Scan|Bitmap Index Scan)( Backward)? (using|on) posts_owner_postid`)
)

// The feed reads posts through posts_owner_postid on both backends, never
// by scanning posts (or walking all of posts_pkey); go test -v shows the
// plans.
func TestFeedQueryPlanUsesOwnerIndex(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		s, busy, lonely := populatedStore(t, backend)
		for _, c := range []struct {
			user string
			page storage.FeedPage
		}{
			{"awdeorio", storage.FeedPage{Size: 10}},
			{busy, storage.FeedPage{Size: 10, Page: 20, PostIDLTE: 6000}},
			{lonely, storage.FeedPage{Size: 10}},
		} {
			lines, err := s.ExplainFeed(ctx, c.user, c.page)
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			t.Logf("%s plan, %s %+v:\n%s", backend, c.user, c.page, plan)
			var problems []string
			switch backend {
			case "sqlite":
				if !sqlitePostsByOwner.MatchString(plan) {
					problems = append(problems, "posts not searched by owner through posts_owner_postid")
				}
				if m := sqliteScan.FindString(plan); m != "" {
					problems = append(problems, "full scan: "+strings.TrimSpace(m))
				}
			case "postgres":
				if !pgPostsByOwner.MatchString(plan) {
					problems = append(problems, "posts not read through posts_owner_postid")
				}
				for _, bad := range []string{"Seq Scan on posts", "Seq Scan on following", "using posts_pkey on posts"} {
					if strings.Contains(plan, bad) {
						problems = append(problems, bad)
					}
				}
			}
			if problems != nil {
				t.Errorf("%s %+v: %s", c.user, c.page, strings.Join(problems, "; "))
			}
		}
		if _, err := s.ExplainFeed(ctx, "awdeorio", storage.FeedPage{Size: 0}); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("explain of an invalid page: %v", err)
		}
	})
}
