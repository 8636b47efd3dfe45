package deploytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/testenv"
)

// The site's database settings in the failover test: how long connecting
// (and waiting for a new primary) may take, and each statement.
const (
	failoverConnectTimeout   = 5 * time.Second
	failoverStatementTimeout = 2 * time.Second
)

// TestPatroniFailover runs insta485 (the binary) on a PostgreSQL cluster
// under Patroni: etcd, two nodes, synchronous replication. One app server
// connects with a multi-host URL and target_session_attrs=read-write and
// lists both nodes as read replicas; another goes through HAProxy (the
// shipped deploy/haproxy.cfg, checking Patroni's /primary and /replica).
// Under a steady load of comments and feed reads on both:
//
//   - the leader is lost (kill -9 of its postmaster, then of its Patroni):
//     every comment the site acknowledged is on the new primary; writes
//     resume once Patroni has promoted the standby; in the gap writes get
//     503 with Retry-After, never another error or a hang; reads go on
//     being served by the standby;
//   - the old leader comes back as a standby and a planned switchover
//     (patronictl switchover) hands the primary back: no request gets a
//     5xx. A comment whose commit was waiting for the synchronous standby
//     when the old primary shut down loses its connection without being
//     told whether it took effect; the store asks the new primary and
//     stores it again only if it is not there, so every acknowledged
//     comment is there once.
//
// It prints the measured failover and switchover times.
func TestPatroniFailover(t *testing.T) {
	pc := testenv.NewPatroniCluster(t, 2)
	dbname := pc.NewDatabase(t)
	var replicas []string
	for _, n := range pc.Nodes {
		replicas = append(replicas, n.URL(pc.AppRole, pc.AppPassword, dbname))
	}
	env := append(baseEnv(),
		"INSTA485_DATABASE="+pc.MultiHostURL(dbname),
		"INSTA485_DATABASE_REPLICAS="+strings.Join(replicas, ","),
		"INSTA485_DB_CONNECT_TIMEOUT="+failoverConnectTimeout.String(),
		"INSTA485_DB_STATEMENT_TIMEOUT="+failoverStatementTimeout.String(),
		"INSTA485_UPLOADS="+filepath.Join(t.TempDir(), "uploads"),
		"INSTA485_SECRET_KEY="+testenv.RandomName("deploytest-secret-0123456789abcdef-"),
		"INSTA485_LOG_FORMAT=json",
	)
	createDB(t, env)
	direct := startInstance(t, "multi-host", binary, env)
	// A second app server reaches the same cluster through HAProxy
	// running the shipped deploy/haproxy.cfg: its primary listener for
	// writes, its standby listener as the read replica.
	ha := startHAProxy(t, pc)
	viaProxy := startInstance(t, "haproxy", binary, append(env,
		"INSTA485_DATABASE="+proxied(pc, ha.Primary, dbname),
		"INSTA485_DATABASE_REPLICAS="+proxied(pc, ha.Replicas, dbname)))
	bases := []string{"http://" + direct.Addr, "http://" + viaProxy.Addr}
	writer, reader := newClient(t, bases[0]), newClient(t, bases[0])
	writer.login("awdeorio", "chickens")
	reader.login("jflinn", "password")
	cookies := loadCookies{writer: writer.cookie(auth.CookieName), reader: reader.cookie(auth.CookieName)}

	t.Run("leader lost", func(t *testing.T) {
		leader := pc.Leader()
		if leader == nil {
			t.Fatal("no Patroni leader")
		}
		l := startLoad(t, bases, cookies, 4, 2)
		time.Sleep(1500 * time.Millisecond)
		killed := time.Now()
		leader.KillPostmaster(t)
		leader.KillPatroni(t)
		promoted := make(chan time.Duration, 1)
		go func() {
			for deadline := killed.Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if n := pc.Leader(); n != nil && n != leader {
					promoted <- time.Since(killed)
					return
				}
			}
			promoted <- -1
		}()
		resumed := l.waitWrite(t, killed, 60*time.Second)
		time.Sleep(time.Second)
		l.stop()
		promotedTook := <-promoted
		if promotedTook < 0 {
			t.Fatal("Patroni promoted no standby within a minute")
		}
		l.check(t, map[int]bool{http.StatusCreated: true, http.StatusServiceUnavailable: true},
			map[int]bool{http.StatusOK: true, http.StatusServiceUnavailable: true})
		l.checkDurable(t, pc, dbname)
		gapReads := l.between(killed, killed.Add(resumed), "read")
		served := 0
		for _, e := range gapReads {
			if e.status == http.StatusOK {
				served++
			}
		}
		if served == 0 {
			t.Errorf("no read was served in the %s without a primary (%d tried): the standby should have answered them", resumed.Round(time.Millisecond), len(gapReads))
		}
		gapWrites := l.between(killed, killed.Add(resumed), "write")
		fmt.Printf("Patroni failover (ttl %ds, loop_wait %ds): kill -9 of the leader; standby promoted after %s; writes resumed after %s; "+
			"in the gap %d writes got 503, %d of %d reads were served by the standby; %d comments acknowledged, all on the new primary; slowest request %s\n",
			testenv.PatroniTTL, testenv.PatroniLoopWait, promotedTook.Round(10*time.Millisecond), resumed.Round(10*time.Millisecond),
			len(gapWrites), served, len(gapReads), l.acked(), l.slowest().Round(10*time.Millisecond))
	})

	t.Cleanup(func() {
		if t.Failed() {
			for _, in := range []*instance{direct, viaProxy} {
				var warnings []string
				for _, line := range strings.Split(in.logs(), "\n") {
					if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
						warnings = append(warnings, line)
					}
				}
				t.Logf("warnings and errors of %s (%s):\n%s", in.Name, in.Addr, lastLines(strings.Join(warnings, "\n"), 30))
			}
		}
	})

	t.Run("switchover", func(t *testing.T) {
		const writers = 4
		// The lost node's Patroni rejoins it as a standby (pg_rewind).
		var old *testenv.PatroniNode
		leader := pc.WaitLeader(t, 30*time.Second, nil)
		for _, n := range pc.Nodes {
			if n != leader {
				old = n
			}
		}
		old.Start(t)
		pc.WaitStreaming(t, 90*time.Second)
		l := startLoad(t, bases, cookies, writers, 2)
		time.Sleep(1500 * time.Millisecond)
		started := time.Now()
		if out, err := pc.Patronictl("switchover", "--leader", leader.Name, "--candidate", old.Name, "--force"); err != nil {
			t.Fatalf("patronictl switchover: %v\n%s", err, out)
		}
		pc.WaitLeader(t, 60*time.Second, leader)
		switched := time.Since(started)
		l.waitWrite(t, time.Now(), 30*time.Second)
		time.Sleep(time.Second)
		l.stop()
		l.check(t, map[int]bool{http.StatusCreated: true}, map[int]bool{http.StatusOK: true})
		l.checkDurable(t, pc, dbname)
		settled := 0
		for _, in := range []*instance{direct, viaProxy} {
			b, _ := os.ReadFile(in.logPath)
			settled += strings.Count(string(b), "broke during its commit")
		}
		fmt.Printf("Patroni switchover under load: patronictl returned and %s leads after %s; %d comments and %d reads, every one answered 201 or 200 (comments cut off during their commit and settled with the new primary: %d); slowest request %s\n",
			old.Name, switched.Round(10*time.Millisecond), l.acked(), len(l.between(time.Time{}, time.Now(), "read")), settled, l.slowest().Round(10*time.Millisecond))
	})
}

type loadCookies struct{ writer, reader string }

// proxied is the URL of database as the app role through a proxy at addr.
func proxied(pc *testenv.PatroniCluster, addr, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(pc.AppRole, pc.AppPassword), Host: addr,
		Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// load is clients posting comments and reading the feed as fast as they
// can, each request recorded.
type load struct {
	t      *testing.T
	client *http.Client
	done   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	events []loadEvent
	texts  []string // comments acknowledged with 201
}

type loadEvent struct {
	kind       string // "write" or "read"
	base       string // the app server asked
	start, end time.Time
	status     int // 0: no answer
	retryAfter string
	err        error
}

// hangLimit is far past the longest a request may take: connecting
// (waiting for a new primary included), a statement, and slack for a busy
// machine. A request without an answer by then hangs.
const hangLimit = failoverConnectTimeout + failoverStatementTimeout + 10*time.Second

// startLoad starts writers and readers, spread over the app servers at
// bases.
func startLoad(t *testing.T, bases []string, cookies loadCookies, writers, readers int) *load {
	l := &load{t: t, done: make(chan struct{}), client: &http.Client{Timeout: hangLimit}}
	for w := range writers {
		base := bases[w%len(bases)]
		l.wg.Add(1)
		go l.run("write", cookies.writer, func(i int) (*http.Request, string) {
			text := fmt.Sprintf("failover-%s-%d-%d", testenv.RandomName(""), w, i)
			req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/comments/?postid=3", strings.NewReader(`{"text": "`+text+`"}`))
			req.Header.Set("Content-Type", "application/json")
			return req, text
		})
	}
	for r := range readers {
		base := bases[r%len(bases)]
		l.wg.Add(1)
		go l.run("read", cookies.reader, func(int) (*http.Request, string) {
			req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/posts/", nil)
			return req, ""
		})
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) run(kind, cookie string, next func(i int) (*http.Request, string)) {
	defer l.wg.Done()
	for i := 0; ; i++ {
		select {
		case <-l.done:
			return
		default:
		}
		req, text := next(i)
		req.Header.Set("Cookie", auth.CookieName+"="+cookie)
		e := loadEvent{kind: kind, base: req.URL.Host, start: time.Now()}
		res, err := l.client.Do(req)
		e.end = time.Now()
		if err != nil {
			e.err = err
		} else {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			e.status, e.retryAfter = res.StatusCode, res.Header.Get("Retry-After")
			if kind == "write" && res.StatusCode == http.StatusCreated {
				var c struct{ Text string }
				if json.Unmarshal(body, &c) != nil || c.Text != text {
					e.err = fmt.Errorf("201 without the comment: %.200s", body)
				}
			}
		}
		l.mu.Lock()
		l.events = append(l.events, e)
		if e.status == http.StatusCreated && e.err == nil {
			l.texts = append(l.texts, text)
		}
		l.mu.Unlock()
		if e.status == http.StatusServiceUnavailable {
			time.Sleep(50 * time.Millisecond) // Retry-After, shortened
		}
	}
}

func (l *load) stop() {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	l.wg.Wait()
}

// waitWrite waits until writes succeed again after since and returns how
// long after since the first one finished. Writes that started after since
// may still succeed for a moment (a killed postmaster's backends live on
// until they notice), so the gap begins with the first failed write, and
// writes resume with the first success that started after it. Without a
// failure there was no gap: the first success after since counts.
func (l *load) waitWrite(t *testing.T, since time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		var failed, ok time.Time
		for _, e := range l.events {
			if e.kind != "write" || !e.start.After(since) {
				continue
			}
			if e.status != http.StatusCreated && (failed.IsZero() || e.end.Before(failed)) {
				failed = e.end
			}
		}
		for _, e := range l.events {
			if e.kind == "write" && e.status == http.StatusCreated && e.start.After(since) && e.start.After(failed) &&
				(ok.IsZero() || e.end.Before(ok)) {
				ok = e.end
			}
		}
		l.mu.Unlock()
		// A success after a failure, or a success with no failure for a
		// while after it.
		if !ok.IsZero() && (!failed.IsZero() || time.Since(ok) > 2*time.Second) {
			return ok.Sub(since)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("writes did not succeed again within %s", timeout)
	return 0
}

// between returns the events of kind that started in [from, to).
func (l *load) between(from, to time.Time, kind string) []loadEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []loadEvent
	for _, e := range l.events {
		if e.kind == kind && !e.start.Before(from) && e.start.Before(to) {
			out = append(out, e)
		}
	}
	return out
}

func (l *load) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.texts)
}

func (l *load) slowest() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d time.Duration
	for _, e := range l.events {
		d = max(d, e.end.Sub(e.start))
	}
	return d
}

// check fails t for a request without an answer (a hang or a broken
// connection), a status not in want for its kind, and a 503 without
// Retry-After.
func (l *load) check(t *testing.T, writes, reads map[int]bool) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	counts := map[string]int{}
	bad := 0
	for _, e := range l.events {
		want := reads
		if e.kind == "write" {
			want = writes
		}
		counts[e.kind+" "+strconv.Itoa(e.status)]++
		switch {
		case e.err != nil:
			t.Errorf("a %s at %s: %v", e.kind, e.start.Format("15:04:05.000"), e.err)
		case !want[e.status]:
			bad++
			if bad <= 5 {
				t.Errorf("a %s to %s at %s answered %d", e.kind, e.base, e.start.Format("15:04:05.000"), e.status)
			}
		case e.status == http.StatusServiceUnavailable && e.retryAfter == "":
			t.Errorf("a %s at %s answered 503 without Retry-After", e.kind, e.start.Format("15:04:05.000"))
		}
	}
	var keys []string
	for k, n := range counts {
		keys = append(keys, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(keys)
	t.Logf("requests by kind and status: %s", strings.Join(keys, ", "))
}

// checkDurable fails t for acknowledged comments missing from the cluster's
// current primary and for comments stored twice.
func (l *load) checkDurable(t *testing.T, pc *testenv.PatroniCluster, dbname string) {
	t.Helper()
	leader := pc.WaitLeader(t, 30*time.Second, nil)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, leader.URL("postgres", pc.SuperPassword, dbname))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT text FROM comments WHERE text LIKE 'failover-%'")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	twice := 0
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		stored[s]++
		if stored[s] == 2 {
			twice++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lost := 0
	for _, text := range l.texts {
		if stored[text] == 0 {
			lost++
		}
	}
	if twice > 0 {
		t.Errorf("%d comments are on the primary (%s) twice: a write whose outcome was unknown was run again although it had taken effect", twice, leader.Name)
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged comments are not on the primary (%s)", lost, len(l.texts), leader.Name)
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
