package storage_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/storage/postgres"
	"github.com/insta485/insta485/internal/testenv"
)

// TestBehindPgBouncer: insta485 works unchanged behind PgBouncer in
// transaction mode (server connections shared between transactions, so no
// named prepared statements or session state) and in session mode.
func TestBehindPgBouncer(t *testing.T) {
	c := testenv.NewCluster(t, testenv.ClusterOptions{Managed: true})
	for _, mode := range []string{"transaction", "session"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			db := "pooled_" + mode
			c.Exec(t, "postgres", "CREATE DATABASE "+db+" OWNER "+c.AppRole)
			// Transaction mode: two server connections for the pool's ten,
			// so each transaction may land on a connection another client
			// prepared statements on. Session mode ties each client
			// connection to a server connection for its life, so the
			// pooler's pool must be at least the app's (10 by default):
			// past it, connections queue until they time out.
			size := 2
			if mode == "session" {
				size = 12
			}
			b := testenv.NewPgBouncer(t, c, mode, size)
			opts := storage.Options{DSN: b.URL(c.AppRole, c.AppPassword, db), StatementTimeout: 10 * time.Second}
			if err := dbadmin.Create(ctx, opts); err != nil {
				t.Fatalf("Create through pgbouncer: %v", err)
			}
			s, err := dbadmin.Open(ctx, opts)
			if err != nil {
				t.Fatalf("Open through pgbouncer: %v", err)
			}
			defer s.Close()
			// The default finds the pooler and sends unnamed statements.
			if s.PreparesStatements() {
				t.Errorf("%s mode: the default prepares statements behind pgbouncer", mode)
			}
			files := []string{"122a7d27ca1d7420a1072f695d9290fad4501a41.jpg"}
			if _, err := dbadmin.Populate(ctx, s, dbadmin.Bulk{Users: 5, Posts: 50, Likes: 50, Comments: 50, Follows: 10, Files: files, ProfileFiles: files, PasswordHash: "x", Seed: 3}); err != nil {
				t.Fatalf("Populate through pgbouncer: %v", err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 20 {
						ids, err := s.Feed(ctx, "awdeorio", storage.FeedPage{Size: 10})
						if err != nil {
							errs <- err
							return
						}
						if len(ids) > 0 {
							if _, err := s.Posts(ctx, ids, "awdeorio"); err != nil {
								errs <- err
							}
						}
						cm, err := s.CreateComment(ctx, "jflinn", 1, "pooled comment")
						if err != nil {
							errs <- err
							continue
						}
						if err := s.DeleteComment(ctx, cm.CommentID, "jflinn"); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			n := 0
			for err := range errs {
				if n < 5 {
					t.Errorf("through pgbouncer (%s mode): %v", mode, err)
				}
				n++
			}
			if n > 0 {
				t.Fatalf("%d errors through pgbouncer in %s mode", n, mode)
			}
			var out strings.Builder
			if err := dbadmin.Dump(ctx, s, io.MultiWriter(&out)); err != nil || !strings.Contains(out.String(), "awdeorio") {
				t.Errorf("Dump through pgbouncer: %v", err)
			}
			if err := s.QueryForTest(ctx, "SELECT pg_sleep(0.01)"); err != nil {
				t.Errorf("a statement under the statement timeout through pgbouncer: %v", err)
			}
			// The statement timeout fires through the pooler, cancels the
			// statement on the server, and leaves the pool usable.
			short := opts
			short.StatementTimeout = 300 * time.Millisecond
			st, err := dbadmin.Open(ctx, short)
			if err != nil {
				t.Fatalf("Open with a statement timeout through pgbouncer: %v", err)
			}
			defer st.Close()
			if err := st.QueryForTest(ctx, "SELECT pg_sleep(30)"); err == nil {
				t.Error("a 30 s statement finished under a 300 ms statement timeout through pgbouncer")
			}
			if err := st.QueryForTest(ctx, "SELECT 1"); err != nil {
				t.Errorf("the pool is unusable after a timeout through pgbouncer: %v", err)
			}
			admin := c.AdminConn(t)
			active := -1
			for range 50 {
				if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'").Scan(&active); err != nil {
					t.Fatal(err)
				}
				if active == 0 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if active != 0 {
				t.Error("the timed-out statement still runs on the server behind pgbouncer")
			}
		})
	}
}

// TestPreparedStatementsOnDirectConnection: by default (auto) a direct
// connection prepares its statements and reuses them; off leaves no
// prepared statement behind on the server (what makes it pooler-safe), and
// on forces them.
func TestPreparedStatementsOnDirectConnection(t *testing.T) {
	ctx := context.Background()
	opts := testenv.NewDatabase(t, "postgres")
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatal(err)
	}
	for mode, prepared := range map[postgres.PreparedMode]bool{postgres.PreparedOff: false, postgres.PreparedOn: true, postgres.PreparedAuto: true} {
		o := opts
		o.MaxConns = 1 // one connection: the count below is its own
		o.PreparedStatements = mode
		s, err := dbadmin.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.Posts(ctx, []int64{1, 2}, "awdeorio"); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.IntForTest(ctx, "SELECT count(*)::int FROM pg_prepared_statements")
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if prepared != (n > 0) {
			t.Errorf("PreparedStatements=%v: %d prepared statements on the connection", mode, n)
		}
		if s.PreparesStatements() != prepared {
			t.Errorf("PreparedStatements=%v: PreparesStatements() = %v on a direct connection", mode, s.PreparesStatements())
		}
	}
}
