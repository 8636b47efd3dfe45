package storage_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/insta485/insta485/internal/dbadmin"
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
	profiles, posts := dbadmin.SampleImages()
	if _, err := dbadmin.Populate(ctx, s, dbadmin.Bulk{
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
	// SQLite: a full pass over a table (or over all of one of its indexes).
	sqliteScan = regexp.MustCompile(`(?m)^\s*SCAN (posts|following|users|likes|comments|feed)\b.*`)
	// PostgreSQL: a scan of a whole table.
	pgScan = regexp.MustCompile(`Seq Scan on (posts|following|users|likes|comments|feed)\b`)
	// The feed is one range of feed's primary key.
	sqliteFeedByKey = regexp.MustCompile(`(?m)^\s*SEARCH feed USING PRIMARY KEY \(username=\? AND postid<\?\)`)
	pgFeedByKey     = regexp.MustCompile(`Index (Only )?Scan( Backward)? using feed_pkey on feed|Bitmap Index Scan on feed_pkey`)
	// skip marks a statement one backend does not run.
	skip = regexp.MustCompile(`skip`)
)

// hotQueries are the statements every request or every write runs, with
// the indexes they must use: the feed page, the feed triggers' statements
// (0003_feed.sql; PL/pgSQL plans them as prepared statements), and the
// post detail's. None may scan a table in proportion to the data. On
// PostgreSQL each is planned both custom (for its arguments) and generic
// (once for any arguments, as a statement cache or a trigger does).
func hotQueries(busy string) []struct {
	name, query string
	args        []any
	want        map[string]*regexp.Regexp
} {
	type q = struct {
		name, query string
		args        []any
		want        map[string]*regexp.Regexp
	}
	return []q{
		{"feed first page", storage.FeedPageQuery, []any{"awdeorio", int64(1 << 62), 10, 0},
			map[string]*regexp.Regexp{"sqlite": sqliteFeedByKey, "postgres": pgFeedByKey}},
		{"feed deep page", storage.FeedPageQuery, []any{busy, 6000, 10, 200},
			map[string]*regexp.Regexp{"sqlite": sqliteFeedByKey, "postgres": pgFeedByKey}},
		{"feed empty", storage.FeedPageQuery, []any{"lonely", int64(1 << 62), 10, 0},
			map[string]*regexp.Regexp{"sqlite": sqliteFeedByKey, "postgres": pgFeedByKey}},
		{"trigger: post added", "SELECT follower, $2 FROM following WHERE followee = $1 AND follower <> $1", []any{busy, 5}, nil},
		{"trigger: post removed", "DELETE FROM feed WHERE postid = $1 AND username IN (SELECT follower FROM following WHERE followee = $2 UNION ALL SELECT $2)", []any{5, busy}, nil},
		{"trigger: follow added", "SELECT $1, postid FROM posts WHERE owner = $2", []any{busy, "jag"}, nil},
		{"trigger: follow removed", "DELETE FROM feed WHERE username = $1 AND postid IN (SELECT postid FROM posts WHERE owner = $2)", []any{busy, "jag"}, nil},
		// PostgreSQL runs the follow-removed statement once per follower.
		{"trigger: user removed", "DELETE FROM feed WHERE username IN (SELECT follower FROM following WHERE followee = $1) AND postid IN (SELECT postid FROM posts WHERE owner = $1)", []any{busy},
			map[string]*regexp.Regexp{"postgres": skip}},
		{"like count", "SELECT count(*) FROM likes WHERE postid = $1", []any{5}, nil},
		{"comments of a post", "SELECT commentid, postid, owner, text, created FROM comments WHERE postid IN ($1) ORDER BY commentid", []any{5}, nil},
		{"user page counts", `SELECT (SELECT count(*) FROM posts WHERE owner = $1), (SELECT count(*) FROM following WHERE followee = $1),
			(SELECT count(*) FROM following WHERE follower = $1), (SELECT count(*) FROM following WHERE follower = $2 AND followee = $1)`, []any{busy, "jag"}, nil},
	}
}

// No hot statement scans a big table, and the feed reads one range of
// feed's key, on both backends and (PostgreSQL) in custom and generic
// plans. go test -v shows the plans.
func TestHotQueryPlansUseIndexes(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		s, busy, _ := populatedStore(t, backend)
		for _, c := range hotQueries(busy) {
			if c.want[backend] == skip {
				continue
			}
			checkPlans(t, s, backend, c.name, c.query, c.args, c.want[backend])
		}
		if backend == "postgres" {
			// The statements of the read functions (migrations 0005 and 0006), in
			// the generic plan they run with too.
			for _, b := range storage.ReadFunctionBodiesForTest() {
				args := []any{"awdeorio", 5}
				var want *regexp.Regexp
				switch b.Name {
				case "insta485_feed":
					args, want = []any{busy, int64(1 << 62), 10, 0}, pgFeedByKey
				case "insta485_viewer":
					args = []any{"awdeorio", "a session id", int64(0)}
				}
				for len(args) < len(b.Types) {
					args = append(args, true)
				}
				checkPlansTyped(t, s, backend, b.Name+" when "+b.When, b.Query, b.Types, args, want)
			}
		}
		if _, err := s.ExplainFeed(ctx, "awdeorio", storage.FeedPage{Size: 0}, false); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("explain of an invalid page: %v", err)
		}
		if lines, err := s.ExplainFeed(ctx, "awdeorio", storage.FeedPage{Size: 10}, false); err != nil || len(lines) == 0 {
			t.Errorf("ExplainFeed = %v, %v", lines, err)
		}
	})
}

// The triggers keep feed equal to what posts and following say, whatever
// writes them: the storage API, or another tool's plain SQL (inserts,
// deletes, updates, cascades of a deleted user or post, self-follows).
func TestFeedTriggersFollowPlainSQL(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		s, busy, lonely := populatedStore(t, backend)
		check := func(step string) {
			t.Helper()
			missing, extra, err := s.FeedDriftForTest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if missing != 0 || extra != 0 {
				t.Fatalf("after %s: feed lacks %d rows and has %d too many", step, missing, extra)
			}
			for _, u := range []string{"awdeorio", "jag", busy, lonely} {
				got, err := s.Feed(ctx, u, storage.FeedPage{Size: 1 << 20})
				if err != nil {
					t.Fatal(err)
				}
				if want := referenceFeed(t, s, u); !slices.Equal(got, want) && len(want)+len(got) > 0 {
					t.Fatalf("after %s: %s's feed has %d posts, want %d", step, u, len(got), len(want))
				}
			}
		}
		check("the bulk load")
		var jagPost int64
		steps := []struct {
			name  string
			query string
			args  []any
		}{
			{"a post inserted with SQL", "INSERT INTO posts (filename, owner) VALUES ('x.jpg', 'jag')", nil},
			{"a follow inserted with SQL", "INSERT INTO following (follower, followee) VALUES ($1, 'jag')", []any{lonely}},
			{"a self-follow", "INSERT INTO following (follower, followee) VALUES ($1, $1)", []any{lonely}},
			{"a self-unfollow", "DELETE FROM following WHERE follower = $1 AND followee = $1", []any{lonely}},
			{"an unfollow", "DELETE FROM following WHERE follower = 'awdeorio' AND followee = 'jflinn'", nil},
			{"a post deleted with SQL", "DELETE FROM posts WHERE postid = (SELECT max(postid) FROM posts WHERE owner = 'michjc')", nil},
			{"a post given to another owner", "UPDATE posts SET owner = 'jflinn' WHERE postid = (SELECT max(postid) FROM posts WHERE owner = 'jag')", nil},
			{"a follow edge changed", "UPDATE following SET followee = 'michjc' WHERE follower = $1 AND followee = 'jag'", []any{lonely}},
			{"a follow edge rewritten to itself", "UPDATE following SET followee = followee WHERE follower = 'jag'", nil},
			{"a user deleted with SQL", "DELETE FROM users WHERE username = $1", []any{busy}},
		}
		for _, st := range steps {
			if err := s.ExecForTest(ctx, st.query, st.args...); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			check(st.name)
		}
		// And through the storage API.
		id, err := s.CreatePost(ctx, "jag", "y.jpg")
		if err != nil {
			t.Fatal(err)
		}
		jagPost = id
		check("CreatePost")
		if err := s.Follow(ctx, "awdeorio", "jflinn"); err != nil {
			t.Fatal(err)
		}
		check("Follow")
		if _, err := s.DeletePost(ctx, jagPost, "jag"); err != nil {
			t.Fatal(err)
		}
		check("DeletePost")
		if _, err := s.DeleteUser(ctx, "jflinn"); err != nil {
			t.Fatal(err)
		}
		check("DeleteUser")
		if err := dbadmin.RebuildFeed(ctx, s); err != nil {
			t.Fatal(err)
		}
		check("RebuildFeed")
	})
}

// Posts, deletes, follows and unfollows of one owner racing each other
// leave feed exactly right (on PostgreSQL the triggers serialise on the
// owner's row; SQLite has one writer).
func TestFeedTriggersUnderConcurrentWrites(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		s := testenv.NewStore(t, backend)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for _, follower := range []string{"awdeorio", "jflinn", "michjc"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 25 {
					_ = s.Unfollow(ctx, follower, "jag")
					if err := s.Follow(ctx, follower, "jag"); err != nil && !errors.Is(err, storage.ErrConflict) {
						errs <- err
						return
					}
				}
			}()
		}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 25 {
					id, err := s.CreatePost(ctx, "jag", "race.jpg")
					if err == nil && id%2 == 0 {
						_, err = s.DeletePost(ctx, id, "jag")
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if missing, extra, err := s.FeedDriftForTest(ctx); err != nil || missing != 0 || extra != 0 {
			t.Fatalf("after racing writes feed lacks %d rows, has %d too many (%v)", missing, extra, err)
		}
	})
}

// checkPlans explains query with args, custom and (on PostgreSQL) generic,
// and fails when a plan scans a whole big table or, if want is set, does
// not match it.
func checkPlans(t *testing.T, s *storage.Store, backend, name, query string, args []any, want *regexp.Regexp) {
	t.Helper()
	checkPlansTyped(t, s, backend, name, query, nil, args, want)
}

// checkPlansTyped is checkPlans with the parameters' types given (a
// function's body).
func checkPlansTyped(t *testing.T, s *storage.Store, backend, name, query string, types []string, args []any, want *regexp.Regexp) {
	t.Helper()
	modes := []bool{false}
	if backend == "postgres" {
		modes = []bool{false, true}
	}
	for _, generic := range modes {
		lines, err := s.ExplainTypedForTest(context.Background(), query, types, args, generic)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		plan := strings.Join(lines, "\n")
		kind := map[bool]string{false: "custom", true: "generic"}[generic]
		t.Logf("%s %s plan, %s:\n%s", backend, kind, name, plan)
		scan := map[string]*regexp.Regexp{"sqlite": sqliteScan, "postgres": pgScan}[backend]
		if m := scan.FindString(plan); m != "" {
			t.Errorf("%s (%s plan) scans a whole table: %s", name, kind, strings.TrimSpace(m))
		}
		if want != nil && !want.MatchString(plan) {
			t.Errorf("%s (%s plan) does not use %s", name, kind, want)
		}
	}
}
