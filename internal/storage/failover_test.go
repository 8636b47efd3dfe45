package storage_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestWriteOnDemotedPrimaryMovesToTheNewOne: stores connected to a primary
// through a multi-host URL (primary, standby; target_session_attrs=
// read-write) keep connections to it. The primary is then made read-only
// (default_transaction_read_only, as a demoted node is) and the standby
// promoted. The next write, whether a single statement or a transaction,
// fails on its pooled connection with 25006, drops it, and succeeds once
// more on a fresh connection, which finds the new primary. A store that
// knows only the old server gets an outage error (503), not a 500.
func TestWriteOnDemotedPrimaryMovesToTheNewOne(t *testing.T) {
	pair := testenv.NewReplicaPair(t, 0)
	opts := pair.NewDatabase(t)
	ctx := context.Background()
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatal(err)
	}
	multi := opts
	multi.Replicas = nil
	multi.DSN = multiHost(t, opts.DSN, pair.Replica.Port)
	single := opts
	single.Replicas = nil
	open := func(o storage.Options) *storage.Store {
		s, err := dbadmin.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	writes := []struct {
		name  string
		write func(*storage.Store) (string, error) // returns a text to find
	}{
		{"statement", func(s *storage.Store) (string, error) {
			text := testenv.RandomName("after the demotion ")
			_, err := s.CreateComment(ctx, "awdeorio", 1, text)
			return "SELECT count(*) FROM comments WHERE text = '" + text + "'", err
		}},
		{"transaction", func(s *storage.Store) (string, error) {
			id := testenv.RandomName("session")
			err := s.CreateSession(ctx, id, "jflinn", time.Now().Add(time.Hour))
			return "SELECT count(*) FROM sessions WHERE id = '" + id + "'", err
		}},
	}
	stores := make([]*storage.Store, len(writes))
	for i := range writes {
		stores[i] = open(multi)
		// A pooled connection to the primary, kept idle.
		if _, err := writes[i].write(stores[i]); err != nil {
			t.Fatalf("write before the demotion: %v", err)
		}
	}
	old := open(single)
	if _, err := old.CreateComment(ctx, "awdeorio", 1, "before"); err != nil {
		t.Fatal(err)
	}

	// Demote: the old primary turns read-only for its open sessions too;
	// the standby, once it has everything, becomes the primary.
	pair.Primary.Exec(t, "postgres", "ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()")
	lsn := ""
	pair.Primary.QueryRow(t, "postgres", "SELECT pg_current_wal_lsn()::text", &lsn)
	for deadline := time.Now().Add(30 * time.Second); ; {
		var caught bool
		pair.Replica.QueryRow(t, "postgres", "SELECT pg_last_wal_replay_lsn() >= '"+lsn+"'::pg_lsn", &caught)
		if caught {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the standby did not replay the primary's last write")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, err := pair.Replica.Command("pg_ctl", "promote", "-w", "-D", pair.Replica.DataDir).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl promote: %v\n%s", err, out)
	}

	for i, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			query, err := w.write(stores[i])
			if err != nil {
				t.Fatalf("a %s on a pooled connection to the demoted primary: %v, want it retried on the new primary", w.name, err)
			}
			var n int
			pair.Replica.QueryRow(t, dbName(t, opts.DSN), query, &n)
			if n != 1 {
				t.Errorf("the new primary has %d copies of the %s's row, want 1", n, w.name)
			}
		})
	}
	t.Run("no other server", func(t *testing.T) {
		_, err := old.CreateComment(ctx, "awdeorio", 1, "on a read-only server")
		if !storage.Unavailable(err) {
			t.Errorf("a write on a read-only server with nowhere else to go: %v, want an outage error (503)", err)
		}
		if _, err := old.CreateComment(ctx, "awdeorio", 1, "again"); !storage.Unavailable(err) {
			t.Errorf("the next write: %v, want an outage error again", err)
		}
	})
}

// multiHost returns dsn with a second host, 127.0.0.1:port, and
// target_session_attrs=read-write.
func multiHost(t *testing.T, dsn string, port int) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host += fmt.Sprintf(",127.0.0.1:%d", port)
	q := u.Query()
	q.Set("target_session_attrs", "read-write")
	u.RawQuery = q.Encode()
	return u.String()
}

func dbName(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}
