// Package replicas routes reads to PostgreSQL streaming replicas: it
// connects a pool to each, learns how far each has replayed the primary's
// WAL and how far behind that is, and sends a read to a healthy replica
// that has replayed the position the caller requires, else to the primary.
// What a request requires (read-your-writes) is internal/storage's
// readyourwrites.go; connecting is internal/storage/postgres's.
//
// Which replica has replayed what is learnt by a background poller per
// replica (pg_last_wal_replay_lsn()), never by a query per read. The cached
// position only ever lags the real one, so trusting it never serves a read
// older than required. A replica that does not answer, is not in recovery,
// or is further behind than MaxLag is skipped until the poller finds it
// well again; a read that fails on a replica is retried on the primary, so
// replicas never add an error the primary alone would not have given.
package replicas

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insta485/insta485/internal/storage/postgres"
)

// LSN is a PostgreSQL WAL position (pg_lsn), comparable as a number.
type LSN uint64

// MaxLSN is a position no replica reaches: a read requiring it goes to the
// primary.
const MaxLSN = LSN(math.MaxUint64)

// ParseLSN reads PostgreSQL's text form of a WAL position, "16/B374D848".
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("malformed WAL position %q", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed WAL position %q", s)
	}
	return LSN(h<<32 | l), nil
}

// String is PostgreSQL's text form of the position.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// DefaultMaxLag is how far behind the primary a replica may be and still
// serve reads, when Options.MaxLag is 0.
const DefaultMaxLag = 30 * time.Second

// DefaultPoll is how often each replica's replay position is read.
const DefaultPoll = 200 * time.Millisecond

// PrimaryLSN returns the primary's current WAL position: one statement,
// no session state, so it works behind a transaction-mode pooler.
func PrimaryLSN(ctx context.Context, primary *sql.DB) (LSN, error) {
	var text string
	if err := primary.QueryRowContext(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&text); err != nil {
		return 0, fmt.Errorf("read the primary's WAL position: %w", err)
	}
	return ParseLSN(text)
}

// ReadStats counts where reads went, for metrics.
type ReadStats struct {
	// Primary counts reads sent to the primary because no healthy replica
	// had replayed the caller's own last write yet (read-your-writes).
	Primary int64
	// Fallback counts reads sent to the primary because no replica was
	// healthy, or retried there after failing on a replica.
	Fallback int64
	Replicas []ReplicaStats
}

// ReplicaStats is one replica's state and counts.
type ReplicaStats struct {
	// Name is host:port/database, without credentials.
	Name string
	// Healthy: answering, in recovery and within the lag bound.
	Healthy bool
	// Lag is how long ago the primary first reached a position the
	// replica has not replayed (0 when caught up).
	Lag       time.Duration
	ReplayLSN LSN
	// Reads counts reads the replica answered; Failures reads that failed
	// on it and were retried on the primary.
	Reads    int64
	Failures int64
}

// Stats returns the read counters and each replica's state.
func (rs *Set) Stats() ReadStats {
	out := ReadStats{Primary: rs.primaryReads.Load(), Fallback: rs.fallbackReads.Load()}
	for _, r := range rs.replicas {
		st := r.state.Load()
		out.Replicas = append(out.Replicas, ReplicaStats{
			Name: r.name, Healthy: st.healthy(), Lag: st.lag, ReplayLSN: st.replay,
			Reads: r.reads.Load(), Failures: r.failures.Load(),
		})
	}
	return out
}

// Floor is the primary's position when the set was opened: no read sees
// less.
func (rs *Set) Floor() LSN { return rs.floor }

// Log is where replica state changes are logged.
func (rs *Set) Log() *slog.Logger { return rs.log }

// Pools returns each replica's pool, in the order of Options.URLs.
func (rs *Set) Pools() []*sql.DB {
	var out []*sql.DB
	for _, r := range rs.replicas {
		out = append(out, r.db)
	}
	return out
}

// Set is the replicas of one store and what is known about them.
type Set struct {
	primary  *sql.DB
	replicas []*replica
	maxLag   time.Duration
	poll     time.Duration
	log      *slog.Logger
	// floor is the primary's position when the store was opened: no read
	// sees less.
	floor LSN

	next          atomic.Uint64 // round robin among replicas
	primaryReads  atomic.Int64
	fallbackReads atomic.Int64

	// samples are the primary's WAL positions with the time each was
	// first seen, oldest first: a replica's lag is how long ago the
	// primary first passed what it has replayed. Measured this way an idle
	// primary does not make a caught-up replica look behind, as
	// now() - pg_last_xact_replay_timestamp() would.
	mu      sync.Mutex
	samples []lsnSample

	stop chan struct{}
	wg   sync.WaitGroup
}

type lsnSample struct {
	at  time.Time
	lsn LSN
}

type replica struct {
	name     string
	db       *sql.DB
	state    atomic.Pointer[replicaState]
	reads    atomic.Int64
	failures atomic.Int64
}

// replicaState is what the last check (or failed read) found.
type replicaState struct {
	unchecked bool   // not polled yet
	up        bool   // answered, and is a replica
	err       string // why not, when !up
	replay    LSN
	lag       time.Duration
	lagged    bool // lag beyond the bound
}

func (st *replicaState) healthy() bool { return st.up && !st.lagged }

func (st *replicaState) describe() string {
	switch {
	case st.unchecked:
		return "unchecked"
	case !st.up:
		return "down"
	case st.lagged:
		return "lagging"
	}
	return "healthy"
}

// Options says which replicas to use and how.
type Options struct {
	// URLs are postgres:// URLs of the replicas, connected with
	// Postgres's password and timeouts (its DSN is the primary's).
	URLs     []string
	Postgres postgres.Options
	// MaxConns bounds each replica's pool (0: 10).
	MaxConns int
	// MaxLag is how far behind the primary a replica may be and still
	// serve reads (0: DefaultMaxLag); Poll how often each replica's replay
	// position is read (0: DefaultPoll).
	MaxLag, Poll time.Duration
	// Log receives replica state changes (nil: slog.Default()).
	Log *slog.Logger
	// Calls counts the statements sent to the replicas.
	Calls *postgres.Calls
	// Floor is the primary's position now: no read sees less.
	Floor LSN
}

// Open connects a pool to each replica URL with the primary's password,
// timeouts and pool size, and starts polling them. A replica that is down
// now is not an error: it is skipped until it answers.
func Open(primary *sql.DB, opts Options) (*Set, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	rs := &Set{primary: primary, maxLag: opts.MaxLag, poll: opts.Poll, log: log, floor: opts.Floor, stop: make(chan struct{})}
	if rs.maxLag <= 0 {
		rs.maxLag = DefaultMaxLag
	}
	if rs.poll <= 0 {
		rs.poll = DefaultPoll
	}
	for _, u := range opts.URLs {
		ropts := opts.Postgres
		ropts.DSN = u
		db, name, err := postgres.OpenReplica(ropts, opts.MaxConns, opts.Calls)
		if err != nil {
			rs.Close()
			return nil, fmt.Errorf("replica: %w", err)
		}
		r := &replica{name: name, db: db}
		r.state.Store(&replicaState{unchecked: true, err: "not checked yet"})
		rs.replicas = append(rs.replicas, r)
	}
	rs.wg.Add(1)
	go rs.samplePrimary()
	for _, r := range rs.replicas {
		rs.wg.Add(1)
		go rs.watch(r)
	}
	return rs, nil
}

// Close stops the polling and closes the replicas' pools.
func (rs *Set) Close() error {
	select {
	case <-rs.stop:
	default:
		close(rs.stop)
	}
	rs.wg.Wait()
	var err error
	for _, r := range rs.replicas {
		err = errors.Join(err, r.db.Close())
	}
	return err
}

// pick returns a healthy replica that has replayed min, taking turns, or
// nil and whether any replica was healthy at all.
func (rs *Set) pick(min LSN) (*replica, bool) {
	n := uint64(len(rs.replicas))
	start := rs.next.Add(1)
	anyHealthy := false
	for i := range n {
		r := rs.replicas[(start+i)%n]
		st := r.state.Load()
		if !st.healthy() {
			continue
		}
		anyHealthy = true
		if st.replay >= min && min != MaxLSN {
			return r, true
		}
	}
	return nil, anyHealthy
}

// Read runs fn, a read, on a healthy replica that has replayed min, else on
// the primary; a read that fails on a replica runs again on the primary.
func (rs *Set) Read(ctx context.Context, min LSN, fn func(*sql.DB) error) error {
	r, anyHealthy := rs.pick(min)
	if r == nil {
		if anyHealthy || min == MaxLSN {
			rs.primaryReads.Add(1)
		} else {
			rs.fallbackReads.Add(1)
		}
		return fn(rs.primary)
	}
	err := fn(r.db)
	if err == nil || errors.Is(err, sql.ErrNoRows) || ctx.Err() != nil {
		r.reads.Add(1)
		return err
	}
	// Whatever went wrong, the primary's answer is the one to give.
	r.failures.Add(1)
	rs.fallbackReads.Add(1)
	if connectionLost(err) {
		rs.setState(r, &replicaState{err: err.Error()})
	}
	return fn(rs.primary)
}

// connectionLost tells a replica that cannot serve (unreachable, shutting
// down, refusing connections) from a query that failed on it.
func connectionLost(err error) bool {
	if code := postgres.Code(err); code != "" {
		// An outage, and also what only a replica's set-up causes: the
		// database gone (3D000, 57P04), the role refused (class 28), an
		// administrator's termination (57P0x).
		return postgres.OutageCode(code) || strings.HasPrefix(code, "57P") ||
			code == "3D000" || strings.HasPrefix(code, "28")
	}
	return true // no answer from the server at all
}

func (rs *Set) setState(r *replica, st *replicaState) {
	old := r.state.Swap(st)
	if old.describe() == st.describe() {
		return
	}
	switch {
	case !st.up:
		rs.log.Warn("database replica down: its reads go to the primary until it answers again", "replica", r.name, "err", st.err)
	case st.lagged:
		rs.log.Warn("database replica behind the primary: its reads go to the primary until it catches up", "replica", r.name, "lag", st.lag.Round(time.Millisecond), "max_lag", rs.maxLag)
	default:
		rs.log.Info("database replica serving reads", "replica", r.name, "lag", st.lag.Round(time.Millisecond))
	}
}

func (rs *Set) every(fn func()) {
	defer rs.wg.Done()
	t := time.NewTicker(rs.poll)
	defer t.Stop()
	for {
		fn()
		select {
		case <-rs.stop:
			return
		case <-t.C:
		}
	}
}

func (rs *Set) checkContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), max(2*time.Second, 5*rs.poll))
	go func() {
		select {
		case <-rs.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// samplePrimary records the primary's WAL position as it moves.
func (rs *Set) samplePrimary() {
	rs.every(func() {
		ctx, cancel := rs.checkContext()
		defer cancel()
		lsn, err := PrimaryLSN(ctx, rs.primary)
		if err != nil {
			return // the primary's own errors surface in the requests
		}
		now := time.Now()
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if n := len(rs.samples); n == 0 || rs.samples[n-1].lsn < lsn {
			rs.samples = append(rs.samples, lsnSample{now, lsn})
		}
		// Keep twice the bound: a replica behind the oldest sample kept is
		// then surely beyond it.
		cut := 0
		for cut < len(rs.samples)-1 && now.Sub(rs.samples[cut].at) > 2*rs.maxLag {
			cut++
		}
		rs.samples = rs.samples[cut:]
	})
}

// lag is how long ago the primary first passed replay.
func (rs *Set) lag(replay LSN) time.Duration {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, s := range rs.samples {
		if s.lsn > replay {
			return time.Since(s.at)
		}
	}
	return 0
}

// watch polls one replica's replay position.
func (rs *Set) watch(r *replica) {
	rs.every(func() {
		ctx, cancel := rs.checkContext()
		defer cancel()
		var inRecovery bool
		var text string
		err := r.db.QueryRowContext(ctx, "SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn()::text, '')").Scan(&inRecovery, &text)
		select {
		case <-rs.stop:
			return
		default:
		}
		switch {
		case err != nil:
			rs.setState(r, &replicaState{err: err.Error()})
			return
		case !inRecovery || text == "":
			// Promoted, or never a replica: it no longer receives the
			// primary's writes, so its data would only grow older.
			rs.setState(r, &replicaState{err: "not a streaming replica (pg_is_in_recovery() is false)"})
			return
		}
		replay, err := ParseLSN(text)
		if err != nil {
			rs.setState(r, &replicaState{err: err.Error()})
			return
		}
		lag := rs.lag(replay)
		rs.setState(r, &replicaState{up: true, replay: replay, lag: lag, lagged: lag > rs.maxLag})
	})
}
