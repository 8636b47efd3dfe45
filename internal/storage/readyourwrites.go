package storage

// Read-your-writes: the whole contract.
//
// Writes, reads inside a write transaction, and security state (sessions,
// password hashes, login failures: the latest handle) always go to the
// primary. Other reads go through readOwnWrites, which may send them to a
// streaming replica, but only to one that has replayed the WAL position
// the caller requires. That minimum travels in the context:
//
//   - One HTTP middleware, auth.ReadYourWrites, sets it for each request
//     from the client's signed written cookie (the primary's position
//     after the client's last write, on whichever instance it was made),
//     or for an HTTP Basic client without the cookie from the primary's
//     position at the request's start, and sets that cookie on responses.
//   - Every write that commits reads the primary's position (afterWrite,
//     one statement) and raises the request's minimum to it, so the rest
//     of the request sees the write and the middleware can hand the
//     position to the client.
//   - FromPrimary sends a read to the primary outright, for a read that
//     must see someone else's change at once.
//
// Without replicas none of this costs anything: there is nowhere else to
// read. The counters of where reads went are ReplicaStats, exported as
// metrics by metrics.WatchReplicas.

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/insta485/insta485/internal/storage/replicas"
)

// LSN is a PostgreSQL WAL position (pg_lsn), comparable as a number.
type LSN = replicas.LSN

// MaxLSN is a position no replica reaches: a read requiring it goes to the
// primary.
const MaxLSN = replicas.MaxLSN

// ParseLSN reads PostgreSQL's text form of a WAL position, "16/B374D848".
func ParseLSN(s string) (LSN, error) { return replicas.ParseLSN(s) }

// freshness is one request's consistency requirement: the WAL position its
// reads must see, and the position after its last committed write.
type freshness struct {
	mu      sync.Mutex
	min     LSN
	written LSN
	wrote   bool
}

type freshnessKey struct{}

func freshnessFrom(ctx context.Context) *freshness {
	f, _ := ctx.Value(freshnessKey{}).(*freshness)
	return f
}

// WithMinLSN returns a context whose reads see at least WAL position lsn.
// If ctx already carries a requirement (one request's), it is raised in
// place and ctx is returned: a request has one requirement, which its own
// writes raise too. Without replicas it changes nothing.
func WithMinLSN(ctx context.Context, lsn LSN) context.Context {
	if f := freshnessFrom(ctx); f != nil {
		f.raise(lsn, false)
		return ctx
	}
	return context.WithValue(ctx, freshnessKey{}, &freshness{min: lsn})
}

// FromPrimary returns a context whose reads go to the primary, for a read
// that must see a change someone else just made (a lost race to update a
// row). It has a requirement of its own: use it for reads only, as writes
// made under it would not raise the request's.
func FromPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshnessKey{}, &freshness{min: MaxLSN})
}

// LSNFrom returns the WAL position reads under ctx must see (0: any).
func LSNFrom(ctx context.Context) LSN {
	if f := freshnessFrom(ctx); f != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.min
	}
	return 0
}

// WrittenLSN returns the primary's WAL position after the last write
// committed under ctx (MaxLSN when it could not be read), and whether there
// was one. Only a store with replicas records it.
func WrittenLSN(ctx context.Context) (LSN, bool) {
	if f := freshnessFrom(ctx); f != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.written, f.wrote
	}
	return 0, false
}

func (f *freshness) raise(lsn LSN, written bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.min = max(f.min, lsn)
	if written {
		f.written = max(f.written, lsn)
		f.wrote = true
	}
}

// readOwnWritesOnce runs fn, a read, on a database that has replayed what ctx
// requires (the request's own writes, see readyourwrites.go): a healthy
// replica when there is one, else the primary. When fn fails on a replica
// it runs again on the primary, so fn must build its result afresh on each
// call.
func (s *Store) readOwnWritesOnce(ctx context.Context, fn func(q reader) error) error {
	if s.replicas == nil {
		return fn(s.latest)
	}
	min := LSN(s.lastWrite.Load())
	if f := freshnessFrom(ctx); f != nil {
		min = max(LSNFrom(ctx), s.replicas.Floor())
	}
	return s.replicas.Read(ctx, min, func(db *sql.DB) error { return fn(db) })
}

// afterWrite records the primary's WAL position after a committed write:
// in ctx's requirement, so the request's later reads (and the client's next
// requests) see the write, and for this process, whose reads without a
// request's requirement (tools, tests) see their own writes too.
func (s *Store) afterWrite(ctx context.Context) {
	if s.replicas == nil {
		return
	}
	// The write has committed: finish reading its position even if the
	// client has gone, or the request would read without it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	lsn, err := s.PrimaryLSN(ctx)
	if err != nil {
		s.replicas.Log().Warn("could not read the primary's WAL position after a write; this request reads from the primary", "err", err)
		lsn = MaxLSN
	} else {
		for {
			old := s.lastWrite.Load()
			if uint64(lsn) <= old || s.lastWrite.CompareAndSwap(old, uint64(lsn)) {
				break
			}
		}
	}
	if f := freshnessFrom(ctx); f != nil {
		f.raise(lsn, true)
	}
}
