package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/storage"
)

// ReplicaPair is a throw-away PostgreSQL primary with one streaming
// replica, for tests of read replicas.
type ReplicaPair struct {
	Primary, Replica *Cluster
}

// NewReplicaPair starts a primary and a replica replaying applyDelay after
// each commit (0: as soon as it can), both removed when t ends.
func NewReplicaPair(t testing.TB, applyDelay time.Duration) *ReplicaPair {
	t.Helper()
	// PostgreSQL's defaults already stream (wal_level = replica,
	// max_wal_senders = 10); say so, so that a changed default or a
	// packager's configuration cannot silently break the replica.
	p := NewCluster(t, ClusterOptions{Conf: []string{"wal_level = replica", "max_wal_senders = 5"}})
	return &ReplicaPair{Primary: p, Replica: p.NewReplica(t, ReplicaOptions{ApplyDelay: applyDelay})}
}

// NewDatabase creates an empty database owned by the unprivileged app role
// on the primary and returns options that connect to it and to its copy on
// the replica as that role. The replica may not have replayed the database
// yet: the store skips it until it has (the replica polled every 20ms so
// tests need not wait long). The database is dropped when t ends.
func (p *ReplicaPair) NewDatabase(t testing.TB) storage.Options {
	t.Helper()
	name := RandomName("insta485_test_")
	p.Primary.Exec(t, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, p.Primary.AppRole))
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := p.Primary.adminConnNoFail(ctx)
		if err != nil {
			return // the cluster is gone with its databases
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return storage.Options{
		DSN:         p.Primary.AppURL(name),
		Replicas:    []string{p.Replica.AppURL(name)},
		ReplicaPoll: 20 * time.Millisecond,
	}
}

// replicaPair serves the "postgres+replica" backend while UseReplicaBackend
// has set it.
var replicaPair *ReplicaPair

// UseReplicaBackend makes Backends just "postgres+replica" (databases on
// pair, reads through its replica) until t ends, so a test can run other
// tests' ForEachBackend bodies against a replicated store. Tests running
// at the same time would see it too: call it only from a test that does
// not run in parallel.
func UseReplicaBackend(t testing.TB, pair *ReplicaPair) {
	old := Backends
	Backends = []string{"postgres+replica"}
	replicaPair = pair
	t.Cleanup(func() { Backends, replicaPair = old, nil })
}
