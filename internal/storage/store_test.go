package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/dbadmin"

	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// The conformance suite: every test runs on SQLite and on PostgreSQL, each
// on a fresh database holding the sample data.

func TestSampleDataIsExactlySpec(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		for _, want := range dbadmin.SampleUsers {
			got, err := s.User(ctx, want.Username)
			if err != nil {
				t.Fatal(err)
			}
			if got.Fullname != want.Fullname || got.Email != want.Email || got.Filename != want.Filename || got.Password != want.Password {
				t.Errorf("user %s = %+v, want %+v", want.Username, got, want)
			}
			if time.Since(got.Created) > time.Hour || time.Since(got.Created) < -time.Minute {
				t.Errorf("user %s created %v, want about now (UTC)", want.Username, got.Created)
			}
		}
		posts, err := s.Posts(ctx, []int64{1, 2, 3, 4}, "awdeorio")
		if err != nil {
			t.Fatal(err)
		}
		wantPosts := []struct {
			owner    string
			likes    int
			comments []int64
		}{{"awdeorio", 3, []int64{5, 6}}, {"jflinn", 2, []int64{4}}, {"awdeorio", 1, []int64{1, 2, 3}}, {"jag", 0, []int64{7}}}
		if len(posts) != 4 {
			t.Fatalf("got %d posts, want 4", len(posts))
		}
		for i, p := range posts {
			w := wantPosts[i]
			if p.PostID != int64(i+1) || p.Filename != dbadmin.SamplePosts[i].Filename || p.Owner != w.owner || p.Likes != w.likes {
				t.Errorf("post %d = %+v, want owner %s likes %d", i+1, p, w.owner, w.likes)
			}
			var ids []int64
			for _, c := range p.Comments {
				ids = append(ids, c.CommentID)
				want := dbadmin.SampleComments[c.CommentID-1]
				if c.Owner != want.Owner || c.Text != want.Text || c.PostID != want.PostID {
					t.Errorf("comment %d = %+v, want %+v", c.CommentID, c, want)
				}
			}
			if !slices.Equal(ids, w.comments) {
				t.Errorf("post %d comments %v, want %v", i+1, ids, w.comments)
			}
		}
		for _, want := range dbadmin.SampleLikes {
			got, err := s.LikeByID(ctx, want.LikeID)
			if err != nil || got != want {
				t.Errorf("like %d = %+v, %v; want %+v", want.LikeID, got, err, want)
			}
		}
		for _, f := range dbadmin.SampleFollowing {
			following, err := s.Following(ctx, f[0], f[0])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(following, func(r storage.Relation) bool { return r.Username == f[1] }) {
				t.Errorf("%s should follow %s", f[0], f[1])
			}
		}
	})
}

func TestIDsAreNeverReused(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		id, err := s.CreatePost(ctx, "jag", "0123456789abcdef0123456789abcdef.jpg")
		if err != nil || id != 5 {
			t.Fatalf("CreatePost = %d, %v; want 5", id, err)
		}
		c, err := s.CreateComment(ctx, "jag", id, "first")
		if err != nil || c.CommentID != 8 {
			t.Fatalf("CreateComment = %+v, %v; want id 8", c, err)
		}
		l, _, err := s.Like(ctx, "jag", id)
		if err != nil || l.LikeID != 7 {
			t.Fatalf("Like = %+v, %v; want id 7", l, err)
		}
		if _, err := s.DeletePost(ctx, id, "jag"); err != nil {
			t.Fatal(err)
		}
		id2, err := s.CreatePost(ctx, "jag", "0123456789abcdef0123456789abcdef.jpg")
		if err != nil || id2 != 6 {
			t.Fatalf("CreatePost after delete = %d, %v; want 6", id2, err)
		}
		c2, err := s.CreateComment(ctx, "jag", id2, "again")
		if err != nil || c2.CommentID != 9 {
			t.Fatalf("CreateComment after delete = %+v, %v; want id 9", c2, err)
		}
		l2, _, err := s.Like(ctx, "jag", id2)
		if err != nil || l2.LikeID != 8 {
			t.Fatalf("Like after delete = %+v, %v; want id 8", l2, err)
		}
	})
}

func TestDeletingAUserCascades(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		orphans, err := s.DeleteUser(ctx, "awdeorio")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{dbadmin.SampleUsers[0].Filename, dbadmin.SamplePosts[0].Filename, dbadmin.SamplePosts[2].Filename}
		if !sameSet(orphans, want) {
			t.Errorf("orphans = %v, want %v", orphans, want)
		}
		if _, err := s.User(ctx, "awdeorio"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("user still there: %v", err)
		}
		// Posts 1 and 3 went with their comments and likes; awdeorio's
		// comment 4 and like 4 on jflinn's post 2 went too.
		for _, id := range []int64{1, 3} {
			if ok, _ := s.PostExists(ctx, id); ok {
				t.Errorf("post %d survived its owner", id)
			}
		}
		for _, id := range []int64{1, 2, 3, 4, 5, 6} {
			if _, err := s.Comment(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("comment %d survived: %v", id, err)
			}
		}
		if _, err := s.Comment(ctx, 7); err != nil {
			t.Errorf("comment 7 (jag on jag's post) should survive: %v", err)
		}
		for _, id := range []int64{1, 2, 3, 4, 6} {
			if _, err := s.LikeByID(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("like %d survived: %v", id, err)
			}
		}
		if l, err := s.LikeByID(ctx, 5); err != nil || l.Owner != "michjc" {
			t.Errorf("like 5 (michjc on post 2) should survive: %+v %v", l, err)
		}
		followers, _ := s.Followers(ctx, "jflinn", "jflinn")
		if len(followers) != 0 {
			t.Errorf("jflinn still has followers %v", followers)
		}
		if _, err := s.DeleteUser(ctx, "awdeorio"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("deleting again = %v, want ErrNotFound", err)
		}
	})
}

func TestDeletingAPostCascadesAndChecksOwner(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		if _, err := s.DeletePost(ctx, 3, "jflinn"); !errors.Is(err, storage.ErrForbidden) {
			t.Errorf("deleting another's post = %v, want ErrForbidden", err)
		}
		if _, err := s.DeletePost(ctx, 99, "jflinn"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("deleting a missing post = %v, want ErrNotFound", err)
		}
		orphans, err := s.DeletePost(ctx, 3, "awdeorio")
		if err != nil || !slices.Equal(orphans, []string{dbadmin.SamplePosts[2].Filename}) {
			t.Fatalf("DeletePost = %v, %v", orphans, err)
		}
		for _, id := range []int64{1, 2, 3} {
			if _, err := s.Comment(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("comment %d on deleted post survived", id)
			}
		}
		if _, err := s.LikeByID(ctx, 6); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("like 6 on deleted post survived")
		}
	})
}

func TestSharedFilesAreOnlyOrphanedByTheirLastUser(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		shared := "00000000000000000000000000000000.jpg"
		a, _ := s.CreatePost(ctx, "jag", shared)
		b, _ := s.CreatePost(ctx, "michjc", shared)
		if orphans, err := s.DeletePost(ctx, a, "jag"); err != nil || len(orphans) != 0 {
			t.Errorf("first delete orphans %v, %v; want none", orphans, err)
		}
		if orphans, err := s.DeletePost(ctx, b, "michjc"); err != nil || !slices.Equal(orphans, []string{shared}) {
			t.Errorf("last delete orphans %v, %v; want [%s]", orphans, err, shared)
		}
	})
}

func TestLikesAreUniquePerOwnerAndPost(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		first, created, err := s.Like(ctx, "jag", 1)
		if err != nil || !created {
			t.Fatalf("Like = %+v, %v, %v", first, created, err)
		}
		again, created, err := s.Like(ctx, "jag", 1)
		if err != nil || created || again.LikeID != first.LikeID {
			t.Errorf("liking again = %+v, created %v, %v; want the same like", again, created, err)
		}
		p, _ := s.Post(ctx, 1, "jag")
		if p.Likes != 4 || p.LognameLikeID != first.LikeID {
			t.Errorf("post 1 has %d likes, logname like %d; want 4, %d", p.Likes, p.LognameLikeID, first.LikeID)
		}
		if _, _, err := s.Like(ctx, "jag", 99); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("liking a missing post = %v, want ErrNotFound", err)
		}
		if err := s.Unlike(ctx, "jag", 1); err != nil {
			t.Errorf("Unlike = %v", err)
		}
		if err := s.Unlike(ctx, "jag", 1); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("unliking again = %v, want ErrConflict", err)
		}
		if err := s.DeleteLike(ctx, 1, "jag"); !errors.Is(err, storage.ErrForbidden) {
			t.Errorf("deleting another's like = %v, want ErrForbidden", err)
		}
		if err := s.DeleteLike(ctx, 1, "awdeorio"); err != nil {
			t.Errorf("DeleteLike = %v", err)
		}
		if err := s.DeleteLike(ctx, 1, "awdeorio"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("deleting a deleted like = %v, want ErrNotFound", err)
		}
	})
}

func TestComments(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		text := "Robert'); DROP TABLE comments;-- ☃"
		c, err := s.CreateComment(ctx, "jag", 2, text)
		if err != nil || c.Text != text || c.Owner != "jag" || c.PostID != 2 {
			t.Fatalf("CreateComment = %+v, %v", c, err)
		}
		if d := time.Since(c.Created); d > time.Minute || d < -time.Minute {
			t.Errorf("created %v, want now in UTC", c.Created)
		}
		if _, err := s.CreateComment(ctx, "jag", 99, "x"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("commenting on a missing post = %v, want ErrNotFound", err)
		}
		if _, err := s.CreateComment(ctx, "jag", 2, strings.Repeat("x", 1025)); err == nil {
			t.Errorf("a 1025-character comment was stored")
		}
		if err := s.DeleteComment(ctx, c.CommentID, "awdeorio"); !errors.Is(err, storage.ErrForbidden) {
			t.Errorf("deleting another's comment = %v, want ErrForbidden", err)
		}
		if err := s.DeleteComment(ctx, c.CommentID, "jag"); err != nil {
			t.Errorf("DeleteComment = %v", err)
		}
		if err := s.DeleteComment(ctx, c.CommentID, "jag"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("deleting again = %v, want ErrNotFound", err)
		}
	})
}

func TestUsersAndProfiles(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		u := storage.User{Username: "newbie", Fullname: "New Bie", Email: "n@example.com", Filename: "11111111111111111111111111111111.png", Password: "x"}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateUser(ctx, u); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("creating a taken username = %v, want ErrConflict", err)
		}
		p, err := s.Profile(ctx, "awdeorio", "jag")
		if err != nil || p.Posts != 2 || p.Followers != 2 || p.Following != 2 || p.LognameFollows {
			t.Errorf("Profile(awdeorio) as jag = %+v, %v; want 2 posts, 2 followers, 2 following, not followed", p, err)
		}
		if _, err := s.Profile(ctx, "nobody", "jag"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Profile(nobody) = %v, want ErrNotFound", err)
		}
		orphans, err := s.UpdateUser(ctx, "newbie", "Renamed", "r@example.com", "22222222222222222222222222222222.png")
		if err != nil || !slices.Equal(orphans, []string{u.Filename}) {
			t.Errorf("UpdateUser with photo = %v, %v; want old photo orphaned", orphans, err)
		}
		orphans, err = s.UpdateUser(ctx, "newbie", "Again", "a@example.com", "")
		if err != nil || len(orphans) != 0 {
			t.Errorf("UpdateUser without photo = %v, %v", orphans, err)
		}
		got, _ := s.User(ctx, "newbie")
		if got.Fullname != "Again" || got.Email != "a@example.com" || got.Filename != "22222222222222222222222222222222.png" {
			t.Errorf("after updates: %+v", got)
		}
		if err := s.SetPassword(ctx, "newbie", "hash2"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.User(ctx, "newbie"); got.Password != "hash2" {
			t.Errorf("password = %q", got.Password)
		}
		if err := s.SetPassword(ctx, "nobody", "h"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("SetPassword(nobody) = %v", err)
		}
	})
}

func TestFollowing(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		explore, err := s.Explore(ctx, "awdeorio")
		if err != nil || len(explore) != 1 || explore[0].Username != "jag" {
			t.Fatalf("Explore(awdeorio) = %+v, %v; want [jag]", explore, err)
		}
		if err := s.Follow(ctx, "awdeorio", "jflinn"); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("following again = %v, want ErrConflict", err)
		}
		if err := s.Follow(ctx, "awdeorio", "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("following nobody = %v, want ErrNotFound", err)
		}
		if err := s.Follow(ctx, "awdeorio", "awdeorio"); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("following oneself = %v, want ErrInvalid", err)
		}
		if err := s.Follow(ctx, "awdeorio", "jag"); err != nil {
			t.Fatal(err)
		}
		if explore, _ := s.Explore(ctx, "awdeorio"); len(explore) != 0 {
			t.Errorf("Explore after following everyone = %+v", explore)
		}
		followers, _ := s.Followers(ctx, "jag", "jflinn")
		want := []storage.Relation{
			{Username: "awdeorio", Filename: dbadmin.SampleUsers[0].Filename, LognameFollows: true},
			{Username: "michjc", Filename: dbadmin.SampleUsers[2].Filename, LognameFollows: true},
		}
		if !slices.Equal(followers, want) {
			t.Errorf("Followers(jag) as jflinn = %+v, want %+v", followers, want)
		}
		if err := s.Unfollow(ctx, "awdeorio", "jag"); err != nil {
			t.Fatal(err)
		}
		if err := s.Unfollow(ctx, "awdeorio", "jag"); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("unfollowing again = %v, want ErrConflict", err)
		}
	})
}

func TestFeedPagesNewestFirstAndStayStable(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		ids, err := s.Feed(ctx, "awdeorio", storage.FeedPage{Size: 10})
		if err != nil || !slices.Equal(ids, []int64{3, 2, 1}) {
			t.Fatalf("awdeorio's feed = %v, %v; want [3 2 1]", ids, err)
		}
		if ids, _ := s.Feed(ctx, "jag", storage.FeedPage{Size: 10}); !slices.Equal(ids, []int64{4}) {
			t.Errorf("jag's feed = %v, want [4]", ids)
		}
		if ids, _ := s.Feed(ctx, "awdeorio", storage.FeedPage{Size: 2, Page: 1}); !slices.Equal(ids, []int64{1}) {
			t.Errorf("page 1 of size 2 = %v, want [1]", ids)
		}
		// A post made after the first page does not shift the second.
		if _, err := s.CreatePost(ctx, "jflinn", "33333333333333333333333333333333.jpg"); err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.Feed(ctx, "awdeorio", storage.FeedPage{Size: 2, Page: 1, PostIDLTE: 3}); !slices.Equal(ids, []int64{1}) {
			t.Errorf("page 1 bounded by 3 = %v, want [1]", ids)
		}
		if ids, _ := s.Feed(ctx, "awdeorio", storage.FeedPage{Size: 10}); !slices.Equal(ids, []int64{5, 3, 2, 1}) {
			t.Errorf("feed after new post = %v, want [5 3 2 1]", ids)
		}
	})
}

// TestConcurrentWritersNeverFail is the "database is locked" check: 16
// goroutines write at once, each in many transactions, and none may fail.
func TestConcurrentWritersNeverFail(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		const writers, each = 16, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := dbadmin.SampleUsers[w%4].Username
				for i := range each {
					id, err := s.CreatePost(ctx, owner, fmt.Sprintf("%032x.jpg", w*1000+i))
					if err != nil {
						errs <- err
						continue
					}
					if _, err := s.CreateComment(ctx, owner, id, "concurrent"); err != nil {
						errs <- err
					}
					if _, _, err := s.Like(ctx, owner, id); err != nil {
						errs <- err
					}
					if _, err := s.Feed(ctx, owner, storage.FeedPage{Size: 10}); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent write failed: %v", err)
		}
		// jag's feed is his sample post and every post by jag and michjc.
		ids, _ := s.Feed(ctx, "jag", storage.FeedPage{Size: 1000})
		if want := 1 + 2*writers/4*each; len(ids) != want {
			t.Errorf("jag's feed has %d posts, want %d", len(ids), want)
		}
	})
}

func TestPopulateAddsConsistentBulkData(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		b := dbadmin.Bulk{Users: 50, Posts: 300, Follows: 400, Likes: 2000, Comments: 500,
			Files: []string{"44444444444444444444444444444444.jpg"}, ProfileFiles: []string{"55555555555555555555555555555555.jpg"},
			PasswordHash: "x", Seed: 1}
		res, err := dbadmin.Populate(ctx, s, b)
		if err != nil {
			t.Fatal(err)
		}
		want := dbadmin.BulkResult{Users: 50, Posts: 300, Likes: 2000, Comments: 500}
		if res.Users != want.Users || res.Posts != want.Posts || res.Likes != want.Likes || res.Comments != want.Comments ||
			res.Follows < 390 || res.Follows > 400 {
			t.Errorf("Populate = %+v, want %+v and about 400 follows", res, want)
		}
		// A second run with the same seed adds new users rather than
		// colliding, and skips pairs that already exist.
		res2, err := dbadmin.Populate(ctx, s, b)
		if err != nil || res2.Users != 50 || res2.Posts != 300 {
			t.Fatalf("second Populate = %+v, %v", res2, err)
		}
		// Ids continue after the bulk load, and constraints are back.
		id, err := s.CreatePost(ctx, "jag", "66666666666666666666666666666666.jpg")
		if err != nil || id != 605 {
			t.Errorf("post after bulk = %d, %v; want 605", id, err)
		}
		if _, _, err := s.Like(ctx, "jag", 999999); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("foreign key not enforced after bulk load: %v", err)
		}
		l, created, err := s.Like(ctx, "jag", 4)
		l2, created2, _ := s.Like(ctx, "jag", 4)
		if err != nil || !created || created2 || l.LikeID != l2.LikeID {
			t.Errorf("unique like not enforced after bulk load")
		}
		if ok, _ := s.PostExists(ctx, 300); !ok {
			t.Errorf("bulk post 300 missing")
		}
	})
}

func TestCreateRefusesAnExistingDatabase(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		opts := testenv.NewDatabase(t, backend)
		ctx := context.Background()
		if ok, err := dbadmin.Exists(ctx, opts); err != nil || ok {
			t.Fatalf("Exists on empty = %v, %v", ok, err)
		}
		if _, err := dbadmin.Open(ctx, opts); !errors.Is(err, storage.ErrNoSchema) {
			t.Errorf("Open on empty = %v, want ErrNoSchema", err)
		}
		if err := dbadmin.Create(ctx, opts); err != nil {
			t.Fatal(err)
		}
		if err := dbadmin.Create(ctx, opts); !errors.Is(err, dbadmin.ErrExists) {
			t.Errorf("second Create = %v, want ErrExists", err)
		}
		if err := dbadmin.Destroy(ctx, opts); err != nil {
			t.Fatal(err)
		}
		if err := dbadmin.Destroy(ctx, opts); err != nil {
			t.Errorf("destroying twice = %v, want nil", err)
		}
		if err := dbadmin.Create(ctx, opts); err != nil {
			t.Errorf("Create after Destroy = %v", err)
		}
		s, err := dbadmin.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var buf strings.Builder
		if err := dbadmin.Dump(ctx, s, &buf); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"users\n", "posts\n", "following\n", "comments\n", "likes\n", "(4 rows)", "(7 rows)", "(6 rows)", "#chickensofinstagram"} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("dump lacks %q", want)
			}
		}
		if err := dbadmin.Destroy(ctx, opts); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSchemaNewerThanBinaryIsRefused(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		opts := testenv.NewDatabase(t, backend)
		ctx := context.Background()
		if err := dbadmin.Create(ctx, opts); err != nil {
			t.Fatal(err)
		}
		s, err := storage.Connect(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := dbadmin.Migrate(ctx, s); err != nil || n != 0 {
			t.Errorf("Migrate on a current database = %d, %v; want 0", n, err)
		}
		if err := s.MarkVersionForTest(ctx, 999); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := dbadmin.Open(ctx, opts); err == nil || !strings.Contains(err.Error(), "upgrade insta485") {
			t.Errorf("Open on a newer schema = %v, want a request to upgrade", err)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestConcurrentChangesOfOneRowAgree: eight requests at once change the
// same profile photo or delete the same post or comment. Every replaced
// photo must be reported orphaned exactly once, and exactly one delete may
// succeed; the others find nothing to delete.
func TestConcurrentChangesOfOneRowAgree(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		const n = 8
		var mu sync.Mutex
		var orphaned []string
		deleted := map[string]int{}
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(3)
			go func() {
				defer wg.Done()
				o, err := s.UpdateUser(ctx, "jag", "J", "j@example.com", fmt.Sprintf("%032x.jpg", 900+i))
				if err != nil {
					t.Errorf("UpdateUser: %v", err)
				}
				mu.Lock()
				orphaned = append(orphaned, o...)
				mu.Unlock()
			}()
			go func() {
				defer wg.Done()
				_, err := s.DeletePost(ctx, 4, "jag")
				mu.Lock()
				deleted[fmt.Sprint("post ", err)]++
				mu.Unlock()
			}()
			go func() {
				defer wg.Done()
				err := s.DeleteComment(ctx, 3, "michjc")
				mu.Lock()
				deleted[fmt.Sprint("comment ", err)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		// The photos: the sample one and seven of the eight new ones are
		// gone, each reported once; the last one written is current.
		u, _ := s.User(ctx, "jag")
		want := []string{dbadmin.SampleUsers[3].Filename}
		for i := range n {
			if f := fmt.Sprintf("%032x.jpg", 900+i); f != u.Filename {
				want = append(want, f)
			}
		}
		if !sameSet(orphaned, want) {
			t.Errorf("orphaned photos %v, want each replaced photo once: %v", orphaned, want)
		}
		wantDeletes := map[string]int{"post <nil>": 1, "post not found": n - 1, "comment <nil>": 1, "comment not found": n - 1}
		if fmt.Sprint(deleted) != fmt.Sprint(wantDeletes) {
			t.Errorf("delete results %v, want %v", deleted, wantDeletes)
		}
	})
}

// Migration versions need not be contiguous (branches number theirs ahead
// of one another): a database that has a later migration but lacks an
// earlier one is told to migrate, not accepted as up to date.
func TestSchemaCheckSeesAGapInVersions(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		s := testenv.NewStore(t, backend)
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatalf("fresh database: %v", err)
		}
		if err := s.ExecForTest(ctx, "DELETE FROM schema_migrations WHERE version = 1"); err != nil {
			t.Fatal(err)
		}
		err := s.CheckSchema(ctx)
		if err == nil || !strings.Contains(err.Error(), "0001_init.sql") || !strings.Contains(err.Error(), "insta485 db migrate") {
			t.Errorf("CheckSchema with version 1 missing = %v, want a message naming 0001_init.sql and db migrate", err)
		}
	})
}

// HeavyFollows makes the first generated user follow that many accounts in
// all, on top of the regular follows and without duplicates; their feed
// holds those accounts' posts.
func TestPopulateHeavyReader(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		s := testenv.NewStore(t, backend)
		profiles, posts := dbadmin.SampleImages()
		res, err := dbadmin.Populate(ctx, s, dbadmin.Bulk{Users: 100, Posts: 500, Follows: 3 * 104, HeavyFollows: 60,
			Files: posts, ProfileFiles: profiles, PasswordHash: "x", Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		// 3 each (less the sample data's 7 edges where they coincide), and
		// 57 more for the heavy reader.
		if want := int64(3*104 + 60 - 3); res.Follows > want || res.Follows < want-7 {
			t.Errorf("added %d follows, want %d less at most 7 that existed", res.Follows, want)
		}
		heavy, err := s.QueryStringForTest(ctx, "SELECT follower FROM following GROUP BY follower ORDER BY count(*) DESC, follower LIMIT 1")
		if err != nil {
			t.Fatal(err)
		}
		rs, err := s.Following(ctx, heavy, heavy)
		if err != nil || len(rs) != 60 {
			t.Fatalf("the heavy reader %s follows %d accounts (%v), want 60", heavy, len(rs), err)
		}
		got, err := s.Feed(ctx, heavy, storage.FeedPage{Size: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceFeed(t, s, heavy); !slices.Equal(got, want) {
			t.Errorf("the heavy reader's feed has %d posts, want %d", len(got), len(want))
		}
	})
}

// A database made before the feed table (schema version 1, with data)
// gets it from `db migrate`, filled from the posts and follows it holds.
func TestMigrationFillsFeedOfAnOlderDatabase(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		ctx := context.Background()
		s := testenv.NewStore(t, backend)
		// Back to version 1: no feed, no triggers.
		undo := []string{"DROP TABLE feed", "DELETE FROM schema_migrations WHERE version = 3"}
		if backend == "postgres" {
			undo = append(undo, "DROP FUNCTION feed_post_added, feed_post_removed, feed_follow_added, feed_follow_removed, feed_user_removed CASCADE")
		} else {
			for _, tr := range []string{"feed_post_insert", "feed_post_delete", "feed_post_update", "feed_follow_insert", "feed_follow_delete", "feed_follow_update", "feed_user_delete"} {
				undo = append(undo, "DROP TRIGGER "+tr)
			}
		}
		undo = append(undo, "INSERT INTO posts (filename, owner) VALUES ('old.jpg', 'michjc')")
		for _, q := range undo {
			if err := s.ExecForTest(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := s.CheckSchema(ctx); err == nil {
			t.Fatal("CheckSchema accepts a database without migration 0003")
		}
		if n, err := dbadmin.Migrate(ctx, s); err != nil || n != 1 {
			t.Fatalf("Migrate = %d, %v; want 1 migration applied", n, err)
		}
		if missing, extra, err := s.FeedDriftForTest(ctx); err != nil || missing != 0 || extra != 0 {
			t.Fatalf("after the migration feed lacks %d rows, has %d too many (%v)", missing, extra, err)
		}
		// awdeorio follows michjc: the post made before the migration is on
		// the feed.
		ids, err := s.Feed(ctx, "awdeorio", storage.FeedPage{Size: 1})
		if err != nil || len(ids) != 1 || ids[0] != 5 {
			t.Errorf("awdeorio's newest feed post = %v, %v; want [5]", ids, err)
		}
	})
}
