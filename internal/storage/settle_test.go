package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestWriteCutOffDuringItsCommitIsStoredOnce: PostgreSQL ends a session
// whose commit waits for the synchronous standby (a planned switchover's
// fast shutdown, here pg_terminate_backend) with a warning that the
// transaction "has already committed locally" and a closed connection.
// Each write then asks the primary whether it took effect and runs again
// only when it did not, so the caller gets a success, not a 503, and the
// data holds the write exactly once; when the write is gone (as after a
// failover to a standby that never received it), it is stored again.
func TestWriteCutOffDuringItsCommitIsStoredOnce(t *testing.T) {
	// Every commit of a session with synchronous_commit = on waits for a
	// standby that never comes; the superuser's sessions (local) do not.
	c := testenv.NewCluster(t, testenv.ClusterOptions{Conf: []string{
		"synchronous_standby_names = 'nobody'", "synchronous_commit = local"}})
	name := testenv.RandomName("insta485_test_")
	c.Exec(t, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, c.AppRole))
	ctx := context.Background()
	s := testenv.OpenCreated(t, storage.Options{DSN: c.AppURL(name)})
	admin := c.AdminConn(t)
	count := func(t *testing.T, query string) int {
		t.Helper()
		var n int
		c.QueryRow(t, name, query, &n)
		return n
	}

	var (
		comment storage.Comment
		postid  int64
	)
	text := testenv.RandomName("cut off ")
	cases := []struct {
		name  string
		write func() error
		lose  string // run before the store asks: the write is gone
		check string // counts the write's rows
		want  int
	}{
		{"comment", func() (err error) {
			comment, err = s.CreateComment(ctx, "awdeorio", 3, text)
			return err
		}, "", "SELECT count(*) FROM comments WHERE text = '" + text + "'", 1},
		{"comment lost in the failover", func() (err error) {
			comment, err = s.CreateComment(ctx, "jflinn", 3, text+" again")
			return err
		}, "DELETE FROM comments WHERE text = '" + text + " again'", "SELECT count(*) FROM comments WHERE text = '" + text + " again'", 1},
		{"post", func() (err error) {
			postid, err = s.CreatePost(ctx, "awdeorio", "cut-off.jpg")
			return err
		}, "", "SELECT count(*) FROM posts WHERE filename = 'cut-off.jpg'", 1},
		{"post lost in the failover", func() (err error) {
			postid, err = s.CreatePost(ctx, "awdeorio", "cut-off-2.jpg")
			return err
		}, "DELETE FROM posts WHERE filename = 'cut-off-2.jpg'", "SELECT count(*) FROM posts WHERE filename = 'cut-off-2.jpg'", 1},
		{"like", func() error {
			_, created, err := s.Like(ctx, "jflinn", postid)
			if err == nil && !created {
				err = fmt.Errorf("the like came back as one that existed before")
			}
			return err
		}, "", "SELECT count(*) FROM likes WHERE owner = 'jflinn' AND postid = (SELECT postid FROM posts WHERE filename = 'cut-off-2.jpg')", 1},
		{"unlike", func() error { return s.Unlike(ctx, "jflinn", postid) },
			"", "SELECT count(*) FROM likes WHERE owner = 'jflinn' AND postid = (SELECT postid FROM posts WHERE filename = 'cut-off-2.jpg')", 0},
		{"follow", func() error { return s.Follow(ctx, "awdeorio", "jag") },
			"", "SELECT count(*) FROM following WHERE follower = 'awdeorio' AND followee = 'jag'", 1},
		{"unfollow", func() error { return s.Unfollow(ctx, "awdeorio", "jag") },
			"", "SELECT count(*) FROM following WHERE follower = 'awdeorio' AND followee = 'jag'", 0},
		{"delete comment", func() error { return s.DeleteComment(ctx, comment.CommentID, "jflinn") },
			"", "SELECT count(*) FROM comments WHERE text = '" + text + " again'", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := admin.Exec(ctx, "ALTER ROLE "+c.AppRole+" SET synchronous_commit = on"); err != nil {
				t.Fatal(err)
			}
			s.DropIdleForTest()
			s.BeforeSettleForTest(func() {
				// What the store does next runs on a new connection, which
				// must not wait; and the write may be taken away.
				c.Exec(t, "postgres", "ALTER ROLE "+c.AppRole+" SET synchronous_commit = local")
				if tc.lose != "" {
					c.Exec(t, name, tc.lose)
				}
			})
			done := make(chan error, 1)
			go func() { done <- tc.write() }()
			var pid int
			for deadline := time.Now().Add(20 * time.Second); ; {
				err := admin.QueryRow(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'SyncRep'", name).Scan(&pid)
				if err == nil {
					break
				}
				select {
				case err := <-done:
					t.Fatalf("the write returned (%v) without waiting for the synchronous standby", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("the write never waited for the synchronous standby")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("a write cut off during its commit: %v, want it settled", err)
			}
			if got := count(t, tc.check); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.check, got, tc.want)
			}
		})
	}
	if got := count(t, fmt.Sprintf("SELECT count(*) FROM comments WHERE commentid = %d AND text = '%s again'", comment.CommentID, text)); got != 0 {
		t.Errorf("the comment deleted last is still there")
	}
}
