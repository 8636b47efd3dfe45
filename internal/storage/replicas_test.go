package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// replicaApplyDelay makes the test replica replay each commit this long
// after it, so its lag is real.
const replicaApplyDelay = time.Second

// TestReadReplicas runs on one primary with one delayed streaming replica:
// where reads go, what happens when the replica stops and comes back, and
// the storage conformance suite with a replica configured.
func TestReadReplicas(t *testing.T) {
	pair := testenv.NewReplicaPair(t, replicaApplyDelay)
	t.Run("routing", func(t *testing.T) { testReplicaRouting(t, pair) })
	t.Run("replica down", func(t *testing.T) { testReplicaDown(t, pair) })
	t.Run("lag bound", func(t *testing.T) { testReplicaLagBound(t, pair) })
	t.Run("conformance", func(t *testing.T) {
		testenv.UseReplicaBackend(t, pair)
		// FailedCreateLeavesNoSchema runs with a replica in
		// internal/dbadmin, where Create's fault hook is.
		for _, c := range []struct {
			name string
			fn   func(*testing.T)
		}{
			{"SampleDataIsExactlySpec", TestSampleDataIsExactlySpec},
			{"IDsAreNeverReused", TestIDsAreNeverReused},
			{"DeletingAUserCascades", TestDeletingAUserCascades},
			{"DeletingAPostCascadesAndChecksOwner", TestDeletingAPostCascadesAndChecksOwner},
			{"SharedFilesAreOnlyOrphanedByTheirLastUser", TestSharedFilesAreOnlyOrphanedByTheirLastUser},
			{"LikesAreUniquePerOwnerAndPost", TestLikesAreUniquePerOwnerAndPost},
			{"Comments", TestComments},
			{"UsersAndProfiles", TestUsersAndProfiles},
			{"Following", TestFollowing},
			{"FeedPagesNewestFirstAndStayStable", TestFeedPagesNewestFirstAndStayStable},
			{"ConcurrentWritersNeverFail", TestConcurrentWritersNeverFail},
			{"PopulateAddsConsistentBulkData", TestPopulateAddsConsistentBulkData},
			{"CreateRefusesAnExistingDatabase", TestCreateRefusesAnExistingDatabase},
			{"SchemaNewerThanBinaryIsRefused", TestSchemaNewerThanBinaryIsRefused},
			{"ConcurrentChangesOfOneRowAgree", TestConcurrentChangesOfOneRowAgree},
			{"FeedMatchesReference", TestFeedMatchesReference},
		} {
			t.Run(c.name, func(t *testing.T) { t.Parallel(); c.fn(t) })
		}
	})
}

func openReplicated(t *testing.T, pair *testenv.ReplicaPair) (*storage.Store, storage.Options) {
	t.Helper()
	opts := pair.NewDatabase(t)
	return testenv.OpenCreated(t, opts), opts
}

// waitFor polls cond every 20ms for up to 30s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func replicaStats(s *storage.Store) storage.ReplicaStats { return s.ReplicaStats().Replicas[0] }

func hasComment(p storage.Post, id int64) bool {
	for _, c := range p.Comments {
		if c.CommentID == id {
			return true
		}
	}
	return false
}

func testReplicaRouting(t *testing.T, pair *testenv.ReplicaPair) {
	s, _ := openReplicated(t, pair)
	if !s.HasReplicas() {
		t.Fatal("HasReplicas() = false with a replica configured")
	}
	ctx := context.Background()
	// The store reads no older than the primary when it was opened, so
	// nothing goes to the replica until it has replayed the sample data.
	waitFor(t, "the replica to become healthy and catch up", func() bool {
		before := replicaStats(s).Reads
		if _, err := s.Post(ctx, 3, "awdeorio"); err != nil {
			t.Fatal(err)
		}
		return replicaStats(s).Healthy && replicaStats(s).Reads > before
	})

	// A request writes: its own reads must see the write at once, so they
	// go to the primary while the delayed replica lags.
	writer := storage.WithMinLSN(ctx, 0)
	c, err := s.CreateComment(writer, "awdeorio", 3, "read your writes")
	if err != nil {
		t.Fatal(err)
	}
	wroteAt := time.Now()
	lsn, wrote := storage.WrittenLSN(writer)
	if !wrote || lsn == 0 || storage.LSNFrom(writer) != lsn {
		t.Fatalf("after a write: WrittenLSN = %v, %v; LSNFrom = %v", lsn, wrote, storage.LSNFrom(writer))
	}
	if back, err := storage.ParseLSN(lsn.String()); err != nil || back != lsn {
		t.Errorf("ParseLSN(%q) = %v, %v", lsn, back, err)
	}
	before := s.ReplicaStats()
	p, err := s.Post(writer, 3, "awdeorio")
	if err != nil || !hasComment(p, c.CommentID) {
		t.Fatalf("the writer's own read misses its comment: %+v, %v", p.Comments, err)
	}
	// Another reader, who wrote nothing, reads from the replica, which
	// shows the comment only once it has replayed it.
	other := storage.WithMinLSN(ctx, 0)
	p, err = s.Post(other, 3, "jflinn")
	if err != nil {
		t.Fatal(err)
	}
	after := s.ReplicaStats()
	if after.Replicas[0].Reads <= before.Replicas[0].Reads {
		t.Errorf("a reader without writes did not read from the replica: %+v -> %+v", before, after)
	}
	if hasComment(p, c.CommentID) && time.Since(wroteAt) < replicaApplyDelay {
		t.Errorf("the replica showed a commit before its apply delay: the read was not served by the replica")
	}
	waitFor(t, "the other reader to see the comment from the replica", func() bool {
		p, err := s.Post(other, 3, "jflinn")
		if err != nil {
			t.Fatal(err)
		}
		return hasComment(p, c.CommentID)
	})
	if s.ReplicaStats().Primary <= before.Primary {
		t.Errorf("the writer's read was not counted as sent to the primary: %+v", s.ReplicaStats())
	}
	// Once the replica has replayed the write, the writer reads there too.
	waitFor(t, "the replica's cached position to pass the write", func() bool { return replicaStats(s).ReplayLSN >= lsn })
	n := replicaStats(s).Reads
	if p, err := s.Post(writer, 3, "awdeorio"); err != nil || !hasComment(p, c.CommentID) {
		t.Fatalf("writer's read after replay: %v", err)
	}
	if replicaStats(s).Reads != n+1 {
		t.Errorf("the writer's read after the replica caught up did not go to it")
	}

	// Without a request's requirement (tools, tests), reads see at least
	// this process's own last write.
	c2, err := s.CreateComment(ctx, "jflinn", 3, "process-wide")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Post(ctx, 3, "jflinn"); err != nil || !hasComment(p, c2.CommentID) {
		t.Fatalf("a read after this process's write misses it: %v", err)
	}
	// FromPrimary always reads the primary.
	n = s.ReplicaStats().Primary
	if _, err := s.User(storage.FromPrimary(ctx), "awdeorio"); err != nil {
		t.Fatal(err)
	}
	if s.ReplicaStats().Primary != n+1 {
		t.Error("FromPrimary did not read from the primary")
	}
}

// testReplicaDown: stopping the replica under a steady read load costs no
// read an error; reads fall back to the primary and return to the replica
// once it is back. Ping (readiness) stays about the primary.
func testReplicaDown(t *testing.T, pair *testenv.ReplicaPair) {
	s, _ := openReplicated(t, pair)
	waitFor(t, "the replica to serve reads", func() bool {
		_, _ = s.Profile(context.Background(), "awdeorio", "jflinn")
		return replicaStats(s).Reads > 0
	})
	var errs atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx := storage.WithMinLSN(context.Background(), 0)
				var err error
				if (i+w)%2 == 0 {
					_, err = s.Post(ctx, 3, "awdeorio")
				} else {
					_, err = s.Profile(ctx, "awdeorio", "jflinn")
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	var once sync.Once
	halt := func() { once.Do(func() { close(stop); wg.Wait() }) }
	defer halt()

	time.Sleep(200 * time.Millisecond)
	if err := pair.Replica.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stopped replica to be marked unhealthy", func() bool { return !replicaStats(s).Healthy })
	fb := s.ReplicaStats().Fallback
	waitFor(t, "reads to fall back to the primary", func() bool { return s.ReplicaStats().Fallback > fb+20 })
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping with the replica down = %v; readiness is about the primary", err)
	}
	if err := pair.Replica.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restarted replica to be healthy again", func() bool { return replicaStats(s).Healthy })
	n := replicaStats(s).Reads
	waitFor(t, "reads to return to the replica", func() bool { return replicaStats(s).Reads > n+20 })
	halt()
	if n := errs.Load(); n > 0 {
		t.Errorf("%d reads failed while the replica stopped and started; first: %v", n, firstErr.Load())
	}
	st := s.ReplicaStats()
	t.Logf("reads: %+v", st)
	if !strings.Contains(st.Replicas[0].Name, "127.0.0.1") || strings.Contains(st.Replicas[0].Name, pair.Primary.AppPassword) {
		t.Errorf("replica name %q: want host:port/db without credentials", st.Replicas[0].Name)
	}
}

func TestParseLSN(t *testing.T) {
	for text, want := range map[string]storage.LSN{"0/0": 0, "0/38A62C8": 0x38A62C8, "16/B374D848": 0x16_B374D848, "FFFFFFFF/FFFFFFFF": storage.MaxLSN} {
		got, err := storage.ParseLSN(text)
		if err != nil || got != want || got.String() != text {
			t.Errorf("ParseLSN(%q) = %v (%s), %v; want %v", text, got, got, err, want)
		}
	}
	for _, bad := range []string{"", "16", "16/", "/1", "G/1", "1/100000000", "-1/2"} {
		if _, err := storage.ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) accepted", bad)
		}
	}
}

// syncBuffer is a log destination safe for the pollers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testReplicaLagBound: a replica further behind than ReplicaMaxLag serves
// nothing until it has caught up, and both changes are logged.
func testReplicaLagBound(t *testing.T, pair *testenv.ReplicaPair) {
	opts := pair.NewDatabase(t)
	ctx := context.Background()
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	opts.Log = slog.New(slog.NewTextHandler(&logs, nil))
	opts.ReplicaMaxLag = replicaApplyDelay / 4
	s, err := dbadmin.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, "the replica to catch up and serve", func() bool { return replicaStats(s).Healthy })
	if _, err := s.CreateComment(ctx, "jag", 4, "make some lag"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica to be found lagging", func() bool { return !replicaStats(s).Healthy })
	if st := replicaStats(s); st.Lag <= opts.ReplicaMaxLag {
		t.Errorf("unhealthy with lag %s within the bound %s", st.Lag, opts.ReplicaMaxLag)
	}
	fb := s.ReplicaStats().Fallback
	if _, err := s.User(storage.WithMinLSN(ctx, 0), "jag"); err != nil {
		t.Fatal(err)
	}
	if s.ReplicaStats().Fallback != fb+1 {
		t.Error("a read while the only replica lags did not fall back to the primary")
	}
	waitFor(t, "the replica to catch up again", func() bool { return replicaStats(s).Healthy })
	for _, want := range []string{"database replica behind the primary", "database replica serving reads"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %q in the log:\n%s", want, logs.String())
		}
	}
}

// TestReplicaURLsThatAreNoReplicas: a "replica" that is really a primary
// (not in recovery) or that nothing listens on is skipped and logged; every
// read is answered by the primary, without an error.
func TestReplicaURLsThatAreNoReplicas(t *testing.T) {
	opts := testenv.NewDatabase(t, "postgres")
	ctx := context.Background()
	if err := dbadmin.Create(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	opts.Log = slog.New(slog.NewTextHandler(&logs, nil))
	opts.ReplicaPoll = 20 * time.Millisecond
	opts.Replicas = []string{opts.DSN, fmt.Sprintf("postgres://nobody:secretpw@127.0.0.1:%d/x?sslmode=disable&connect_timeout=2", testenv.FreePort(t))}
	s, err := dbadmin.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, "both replicas to be checked", func() bool {
		l := logs.String()
		return strings.Contains(l, "not a streaming replica") && strings.Count(l, "database replica down") == 2
	})
	for i := range 10 {
		if _, err := s.Post(storage.WithMinLSN(ctx, 0), 3, "awdeorio"); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	st := s.ReplicaStats()
	if st.Fallback < 10 || st.Replicas[0].Healthy || st.Replicas[1].Healthy || st.Replicas[0].Reads+st.Replicas[1].Reads != 0 {
		t.Errorf("stats = %+v: want every read to fall back to the primary", st)
	}
	if strings.Contains(logs.String(), "secretpw") {
		t.Errorf("the log shows a replica's password:\n%s", logs.String())
	}
}
