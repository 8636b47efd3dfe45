// Command insta485-bench measures insta485 end to end: it builds the binary,
// loads a dataset of a given scale with the bulk loader (`insta485 db
// random`), starts the server on loopback, drives bounded load (fixed
// duration and connections) through a set of scenarios and prints one line
// per scenario: requests per second, the ratio to the ceiling (GET /healthz,
// measured in the same run), p50 and p99 latency, errors, and the server's
// peak resident memory during the scenario (VmHWM, reset before each one).
//
//	go run ./cmd/insta485-bench --backend sqlite --scale small --quick
//	go run ./cmd/insta485-bench --backend postgres --scale large
//	go run ./cmd/insta485-bench --backend both --pgbouncer
//
// With --backend both (and --pgbouncer, a server reaching PostgreSQL
// through PgBouncer in transaction mode) each scenario runs on each server
// in turn, and the run ends with the ratios between them: only ratios
// taken in one run mean anything on a shared machine. Each line also says
// how many statements and round trips to PostgreSQL a request cost, as
// the server counts them (its metrics).
//
// Results are also written to bench/results-<backend>-<scale>.txt.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

type scale struct {
	users, posts, follows, likes, comments, heavy int
}

// Every user (the four sample users included) follows about 50 others; one
// generated user follows many more (a heavy reader).
var scales = map[string]scale{
	"small": {users: 1000, posts: 10_000, follows: 50 * 1004, likes: 50_000, comments: 10_000, heavy: 1000},
	"large": {users: 10_000, posts: 1_000_000, follows: 50 * 10_004, likes: 5_000_000, comments: 1_000_000, heavy: 5000},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "insta485-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	backend, scaleName, pgURL, pgName, out, dir string
	quick, reuse, pgbouncer, pictures           bool
	profile, only, bin, against                 string
	duration                                    time.Duration
	conns, pgbouncerPool, rounds                int
}

func run() error {
	var o options
	flag.StringVar(&o.backend, "backend", "sqlite", "database: sqlite, postgres, or both (each scenario on each, in turn, and the ratios of PostgreSQL to SQLite)")
	flag.StringVar(&o.scaleName, "scale", "small", "dataset: small (1k users, 10k posts) or large (10k users, 1M posts, 5M likes, 1M comments)")
	flag.BoolVar(&o.pictures, "pictures", false, "run only the pictures scenario: feed pictures through nginx × 3 app servers on versitygw, in each --uploads-delivery mode (needs nginx and versitygw)")
	flag.BoolVar(&o.quick, "quick", false, "short scenarios (2 s each), the whole run under a minute at small scale")
	flag.DurationVar(&o.duration, "duration", 0, "length of each scenario (default 8s, 2s with --quick)")
	flag.IntVar(&o.conns, "conns", 32, "concurrent connections")
	flag.IntVar(&o.rounds, "rounds", 4, "with several servers, the slices each scenario is cut into, the servers taking turns")
	flag.StringVar(&o.pgURL, "postgres", envOr("INSTA485_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/?sslmode=disable"),
		"PostgreSQL server URL (its role must create databases); the database name is replaced")
	flag.StringVar(&o.pgName, "pg-database", "", "PostgreSQL database the dataset lives in (default insta485_bench_<scale>); give each of several people sharing one server their own")
	flag.BoolVar(&o.pgbouncer, "pgbouncer", false, "with postgres or both: also serve through PgBouncer in transaction mode (started here, pool of --pgbouncer-pool server connections) and print the ratio to the direct connection")
	flag.IntVar(&o.pgbouncerPool, "pgbouncer-pool", 10, "server connections of PgBouncer's pool (the app's own pool is 10)")
	flag.StringVar(&o.dir, "dir", "", "work directory for the binary, SQLite file and uploads (default .cache/bench-<backend>-<scale>)")
	flag.BoolVar(&o.reuse, "reuse", false, "reuse the dataset a previous run left in --dir (skips the load)")
	flag.StringVar(&o.profile, "profile", "", "record a CPU profile of the server during the scenarios whose name contains this (written to --dir; builds with -tags pprof)")
	flag.StringVar(&o.only, "only", "", "run only the scenarios whose name contains one of these comma-separated words (the ceiling always runs), e.g. page")
	flag.StringVar(&o.bin, "bin", "", "serve with this insta485 binary instead of building one (to measure another commit's build alongside; see scripts/bench-pages)")
	flag.StringVar(&o.against, "against", "", "also serve the dataset with this other insta485 binary and drive both servers at once, half the connections each: each scenario gets a second line, the other build's, measured in the same moment (see scripts/bench-pages)")
	flag.StringVar(&o.out, "out", "", "results file (default bench/results-<backend>-<scale>[-quick].txt)")
	flag.Parse()
	sc, ok := scales[o.scaleName]
	if !ok {
		return fmt.Errorf("unknown --scale %q: use small or large", o.scaleName)
	}
	backends := map[string][]string{"sqlite": {"sqlite"}, "postgres": {"postgres"}, "both": {"sqlite", "postgres"}}[o.backend]
	if backends == nil {
		return fmt.Errorf("unknown --backend %q: use sqlite, postgres or both", o.backend)
	}
	if o.pgbouncer && o.backend == "sqlite" {
		return errors.New("--pgbouncer needs --backend postgres or both")
	}
	if len(backends) == 1 && !o.pgbouncer {
		o.rounds = 1
	}
	o.rounds = max(1, o.rounds)
	if o.duration == 0 {
		o.duration = 8 * time.Second
		if o.quick {
			o.duration = 2 * time.Second
		}
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if o.dir == "" {
		o.dir = filepath.Join(root, ".cache", "bench-"+o.backend+"-"+o.scaleName)
	}
	if o.out == "" {
		// A quick run has its own file: it must not replace a full one.
		suffix := ""
		if o.pgbouncer {
			suffix += "-pgbouncer"
		}
		if o.quick {
			suffix += "-quick"
		}
		o.out = filepath.Join(root, "bench", "results-"+o.backend+"-"+o.scaleName+suffix+".txt")
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(o.dir, "insta485")
		logf("building %s", bin)
		args := []string{"build", "-o", bin}
		if o.profile != "" {
			args = append(args, "-tags", "pprof")
		}
		build := exec.Command("go", append(args, "./cmd/insta485")...)
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	if o.pictures {
		return runPictures(o, root, bin)
	}

	// targets are the servers taking turns; servers are those and, with
	// --against, each one's partner, driven at the same moment.
	var targets, servers []*bench
	var loads []string
	defer func() {
		for _, b := range servers {
			b.stop()
		}
	}()
	start := func(name, dir string, env []string, ds *dataset, logPrefix string) error {
		b, err := startServer(o, name, bin, dir, env, ds, logPrefix)
		if err != nil {
			return err
		}
		b.index, targets, servers = len(servers), append(targets, b), append(servers, b)
		if o.against != "" {
			other, err := startServer(o, name+"*", o.against, dir, env, ds, "against-"+logPrefix)
			if err != nil {
				return fmt.Errorf("--against: %w", err)
			}
			other.index, b.partner, servers = len(servers), other, append(servers, other)
		}
		return nil
	}
	for _, backend := range backends {
		dir := o.dir
		if len(backends) > 1 {
			dir = filepath.Join(o.dir, backend)
		}
		db, err := prepare(o, sc, backend, bin, dir)
		if err != nil {
			return err
		}
		if db.loadTime > 0 {
			loads = append(loads, fmt.Sprintf("%s bulk load %s", backend, db.loadTime.Round(time.Second)))
		}
		if err := start(backend, dir, db.env, db.ds, ""); err != nil {
			return err
		}
		if backend == "postgres" && o.pgbouncer {
			pooled, pid, stop, err := startPgBouncer(dir, db.dsn, o.pgbouncerPool)
			if err != nil {
				return err
			}
			defer stop()
			env := append(slices.Clone(db.env), "INSTA485_DATABASE="+pooled)
			if err := start("pgbouncer", dir, env, db.ds, "pgbouncer-"); err != nil {
				return err
			}
			servers[len(servers)-1].poolerPID = pid
		}
	}

	var out strings.Builder
	commit, _ := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	load, _ := os.ReadFile("/proc/loadavg")
	flags := ""
	if o.pgbouncer {
		flags += " --pgbouncer"
	}
	if o.quick {
		flags += " --quick"
	}
	fmt.Fprintf(&out, "insta485-bench --backend %s --scale %s%s  (%s, commit %s, %d cores, loadavg %s)\n",
		o.backend, o.scaleName, flags,
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.TrimSpace(string(commit)), runtime.NumCPU(),
		strings.Join(strings.Fields(string(load))[:3], " "))
	if o.bin != "" {
		// The commit above is the bench's; the server is another build.
		fmt.Fprintf(&out, "server binary: %s\n", o.bin)
	}
	if o.against != "" {
		fmt.Fprintf(&out, "against: %s, driven at the same time as each server, half the connections each (servers marked *)\n", o.against)
	}
	ds := targets[0].ds
	fmt.Fprintf(&out, "dataset: %d users, %d posts, %d follows, %d likes, %d comments; %s follows %d, heavy user %s follows %d",
		ds.users, ds.posts, ds.follows, ds.likes, ds.comments, ds.users0[0], ds.followees0, ds.heavy, ds.heavyFollowees)
	if len(loads) > 0 {
		fmt.Fprintf(&out, "; %s", strings.Join(loads, ", "))
	}
	fmt.Fprintf(&out, "\n%d connections, %s per scenario and server, in %d slices, the servers taking turns\n", o.conns, o.duration, o.rounds)
	fmt.Fprintf(&out, "stmts/req and trips/req: statements sent to PostgreSQL and round trips, per request, as the server counts them\n\n")
	fmt.Fprintf(&out, "%-28s %-10s %9s %8s %9s %9s %7s %8s %9s %9s %9s\n", "scenario", "server", "req/s", "ceiling", "p50", "p99", "errors", "peakRSS", "cpu/req", "stmts/req", "trips/req")
	fmt.Print(out.String())

	results := map[string]map[string]result{} // scenario → server → result
	for i, s := range targets[0].scenarios() {
		if !selected(s.name, o.only) {
			continue
		}
		results[s.name] = map[string]result{}
		// Servers take turns in short slices, so that the load of a
		// shared machine falls on each alike.
		samples := make([][]sample, len(servers))
		for range o.rounds {
			for _, b := range targets {
				s := b.scenarios()[i]
				var profiled chan error
				if o.profile != "" && strings.Contains(s.name, o.profile) {
					profiled = make(chan error, 1)
					file := filepath.Join(o.dir, "cpu-"+b.name+"-"+strings.NewReplacer(" ", "_", "/", "_", "<", "", ">", "").Replace(s.name)+".pprof")
					go func() { profiled <- fetchProfile(b.pprofAddr, file, o.duration/time.Duration(o.rounds)) }()
				}
				smps, err := b.runWithPartner(i, o.duration/time.Duration(o.rounds))
				if profiled != nil {
					if err := <-profiled; err != nil {
						return fmt.Errorf("profile %s: %w", s.name, err)
					}
				}
				if err != nil {
					return fmt.Errorf("%s: %w", s.name, err)
				}
				for _, smp := range smps {
					samples[smp.server.index] = append(samples[smp.server.index], smp.sample)
				}
			}
		}
		for j, b := range servers {
			r := combine(samples[j])
			if s.name == "ceiling /healthz" {
				b.ceiling = r.rps
			}
			results[s.name][b.name] = r
			perReq := func(v float64) string {
				if b.sqlite() {
					return "-" // in the process: no round trips
				}
				return fmt.Sprintf("%.2f", v)
			}
			line := fmt.Sprintf("%-28s %-10s %9.0f %7.1f%% %9s %9s %7d %6.0fMB %9s %9s %9s\n", s.name, b.name, r.rps, 100*r.rps/b.ceiling,
				fmtDur(r.p50), fmtDur(r.p99), r.errors, float64(r.peakKB)/1024, fmtDur(r.cpuPerReq), perReq(r.stmtsPerReq), perReq(r.tripsPerReq))
			fmt.Print(line)
			out.WriteString(line)
			if r.firstErr != "" {
				logf("  first error: %s", r.firstErr)
			}
		}
	}
	summary := targetsTable(results, servers)
	fmt.Print(summary)
	out.WriteString(summary)
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.out, []byte(out.String()), 0o644)
}

// targetsTable prints the measures issue #16 sets targets for, from one
// run: ratios between servers measured side by side, never across runs.
func targetsTable(results map[string]map[string]result, targets []*bench) string {
	var b strings.Builder
	ratio := func(scenario, num, den string) string {
		n, ok1 := results[scenario][num]
		d, ok2 := results[scenario][den]
		if !ok1 || !ok2 || d.rps == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", n.rps/d.rps)
	}
	fmt.Fprintf(&b, "\n%-44s %s\n", "measure (same run)", "value")
	for _, sc := range []string{"api feed page 0 (cookie)", "api post detail", "page /", "api like+unlike", "form like+unlike"} {
		if v := ratio(sc, "postgres", "sqlite"); v != "-" {
			fmt.Fprintf(&b, "%-44s %s\n", "PostgreSQL ÷ SQLite: "+sc, v)
		}
	}
	for _, sc := range []string{"api feed page 0 (cookie)", "api post detail", "api like+unlike"} {
		if v := ratio(sc, "pgbouncer", "postgres"); v != "-" {
			errs := results[sc]["pgbouncer"].errors
			fmt.Fprintf(&b, "%-44s %s (%d errors)\n", "PgBouncer transaction ÷ direct: "+sc, v, errs)
		}
	}
	// Where a request's CPU goes, on the cores the load generator shares:
	// what the pooled path adds is PgBouncer's own work and the database's.
	for _, sc := range []string{"api feed page 0 (cookie)", "api post detail", "api like+unlike"} {
		if _, pooled := results[sc]["pgbouncer"]; !pooled {
			continue
		}
		for _, name := range []string{"postgres", "pgbouncer"} {
			if r, ok := results[sc][name]; ok {
				fmt.Fprintf(&b, "%-44s app %s + PostgreSQL %s + PgBouncer %s\n", "CPU per request, "+name+": "+sc,
					fmtDur(r.cpuPerReq), fmtDur(r.dbCPUPerReq), fmtDur(r.poolerCPUPerReq))
			}
		}
	}
	for _, t := range targets {
		if t.sqlite() {
			continue
		}
		most := 0.0
		for name, rs := range results {
			if r, ok := rs[t.name]; ok && isGet(name) {
				most = max(most, r.tripsPerReq)
			}
		}
		fmt.Fprintf(&b, "%-44s %.2f\n", "most round trips per GET (cookie), "+t.name, most)
		// A Basic request whose password is not in the cache (its first,
		// or after a 503 from a full password check) costs a login's.
		fmt.Fprintf(&b, "%-44s %.2f\n", "round trips per Basic GET, "+t.name, results["api feed page 0 (Basic)"][t.name].tripsPerReq)
	}
	var peak int64
	for _, rs := range results {
		for _, r := range rs {
			peak = max(peak, r.peakKB)
		}
	}
	fmt.Fprintf(&b, "%-44s %.0f MB\n", "peak RSS, any scenario and server", float64(peak)/1024)
	return b.String()
}

// isGet says whether a scenario sends only GETs with a session cookie
// (that read the database).
func isGet(name string) bool {
	return (strings.HasPrefix(name, "api feed") && !strings.Contains(name, "Basic")) || strings.HasPrefix(name, "page ") || name == "api post detail"
}

// database is a loaded dataset and how to reach it.
type database struct {
	dsn      string
	env      []string
	ds       *dataset
	loadTime time.Duration
}

// prepare loads (or, with --reuse, finds) the dataset of backend in dir.
func prepare(o options, sc scale, backend, bin, dir string) (*database, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	dsn := filepath.Join(dir, "insta485.sqlite3")
	if backend == "postgres" {
		u, err := url.Parse(o.pgURL)
		if err != nil {
			return nil, fmt.Errorf("--postgres: %w", err)
		}
		if o.pgName == "" {
			o.pgName = "insta485_bench_" + o.scaleName
		}
		u.Path = "/" + o.pgName
		dsn = u.String()
	}
	env := append(os.Environ(), "INSTA485_DATABASE="+dsn, "INSTA485_UPLOADS="+filepath.Join(dir, "uploads"),
		"INSTA485_SECRET_KEY_FILE="+filepath.Join(dir, "secret_key"))
	tool := func(args ...string) error {
		c := exec.Command(bin, args...)
		c.Env, c.Stdout, c.Stderr = env, os.Stderr, os.Stderr
		return c.Run()
	}
	db := &database{dsn: dsn, env: env}
	marker := filepath.Join(dir, "loaded-"+backend)
	if _, err := os.Stat(marker); o.reuse && err == nil {
		logf("reusing the %s dataset in %s", backend, dir)
	} else {
		_ = os.Remove(marker)
		if err := tool("db", "reset"); err != nil {
			return nil, fmt.Errorf("db reset: %w", err)
		}
		logf("loading the %s dataset on %s", o.scaleName, backend)
		start := time.Now()
		if err := tool("db", "random", "--users", fmt.Sprint(sc.users), "--posts", fmt.Sprint(sc.posts),
			"--follows", fmt.Sprint(sc.follows), "--likes", fmt.Sprint(sc.likes), "--comments", fmt.Sprint(sc.comments),
			"--heavy-follows", fmt.Sprint(sc.heavy), "--images", "20", "--seed", "485"); err != nil {
			return nil, fmt.Errorf("db random: %w", err)
		}
		db.loadTime = time.Since(start)
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return nil, err
		}
	}
	var err error
	db.ds, err = readDataset(backend, dsn)
	return db, err
}

// startServer starts insta485 serve with env and logs in its users.
func startServer(o options, name, bin, dir string, env []string, ds *dataset, logPrefix string) (*bench, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, logPrefix+"server.log"))
	if err != nil {
		return nil, err
	}
	srv := exec.Command(bin, "serve", "--addr", addr)
	srv.Env, srv.Stdout, srv.Stderr = append(slices.Clone(env), "INSTA485_METRICS_ADDR="+metricsAddr), logFile, logFile
	b := &bench{name: name, pid: 0, conns: o.conns, duration: o.duration, ds: ds, metricsAddr: metricsAddr}
	if o.profile != "" {
		if b.pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		srv.Env = append(srv.Env, "INSTA485_PPROF_ADDR="+b.pprofAddr)
	}
	if err := srv.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	b.stop = func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
		logFile.Close()
	}
	b.pid = srv.Process.Pid
	b.base = "http://" + addr
	if err := waitReady(b.base + "/readyz"); err != nil {
		b.stop()
		return nil, err
	}
	b.client = &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 30 * time.Second,
	}
	if err := b.login(); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

// dataset is what the scenarios need to know about the loaded data.
type dataset struct {
	users, posts, follows, likes, comments int64
	minPost, maxPost                       int64
	users0                                 []string // generated users, password "password"
	followees0                             int64
	heavy                                  string
	heavyFollowees                         int64
}

func readDataset(backend, dsn string) (*dataset, error) {
	driver := "pgx"
	if backend == "sqlite" {
		driver, dsn = "sqlite", "file:"+dsn+"?mode=ro"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ds := &dataset{}
	for q, dst := range map[string]*int64{
		"SELECT count(*) FROM users": &ds.users, "SELECT count(*) FROM posts": &ds.posts,
		"SELECT count(*) FROM following": &ds.follows, "SELECT count(*) FROM likes": &ds.likes,
		"SELECT count(*) FROM comments": &ds.comments, "SELECT min(postid) FROM posts": &ds.minPost,
		"SELECT max(postid) FROM posts": &ds.maxPost,
	} {
		if err := db.QueryRow(q).Scan(dst); err != nil {
			return nil, fmt.Errorf("read the dataset (%s): %w", q, err)
		}
	}
	// Generated users are named u<hex>_<n>; the heavy reader follows most.
	err = db.QueryRow("SELECT follower, count(*) FROM following GROUP BY follower ORDER BY count(*) DESC LIMIT 1").Scan(&ds.heavy, &ds.heavyFollowees)
	if err != nil {
		return nil, fmt.Errorf("find the heavy user: %w", err)
	}
	rows, err := db.Query("SELECT username FROM users WHERE username LIKE 'u%' AND username <> $1 ORDER BY username LIMIT 64", ds.heavy)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		ds.users0 = append(ds.users0, u)
	}
	if len(ds.users0) == 0 {
		return nil, errors.New("the dataset has no generated users")
	}
	if err := db.QueryRow("SELECT count(*) FROM following WHERE follower = $1", ds.users0[0]).Scan(&ds.followees0); err != nil {
		return nil, err
	}
	return ds, rows.Err()
}

type bench struct {
	name        string // sqlite, postgres or pgbouncer; with a * the --against build's
	stop        func()
	metricsAddr string
	pprofAddr   string
	base        string
	pid         int
	conns       int
	duration    time.Duration
	client      *http.Client
	ds          *dataset
	ceiling     float64
	// poolerPID is PgBouncer's process when the server reaches
	// PostgreSQL through it.
	poolerPID int
	// partner is the --against build's server on the same database,
	// driven at the same moment as this one; index is the server's place
	// in the results.
	partner *bench
	index   int
	// per generated user: session cookie and the CSRF token of its forms
	cookies, tokens []string
	heavyCookie     string
	loginToken      string
	loginCookie     string
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// login starts a session for every generated user the workers use, and
// for the heavy reader.
func (b *bench) login() error {
	resp, body, err := b.get("/accounts/login/", "")
	if err != nil {
		return err
	}
	m := csrfRe.FindSubmatch(body)
	if m == nil {
		return errors.New("no csrf_token on the login page")
	}
	b.loginToken = string(m[1])
	for _, c := range resp.Cookies() {
		if c.Name == "csrf" {
			b.loginCookie = "csrf=" + c.Value
		}
	}
	for _, u := range append(slices.Clone(b.ds.users0), b.ds.heavy) {
		resp, err := b.postLogin(u, "password")
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusFound {
			return fmt.Errorf("log in as %s: status %d", u, resp.StatusCode)
		}
		var cookie string
		for _, c := range resp.Cookies() {
			if c.Name == "login" {
				cookie = "login=" + c.Value
			}
		}
		if u == b.ds.heavy {
			b.heavyCookie = cookie
			continue
		}
		_, page, err := b.get(fmt.Sprintf("/posts/%d/", b.ds.maxPost), cookie)
		if err != nil {
			return err
		}
		m := csrfRe.FindSubmatch(page)
		if m == nil {
			return fmt.Errorf("no csrf_token on a post page for %s", u)
		}
		b.cookies = append(b.cookies, cookie)
		b.tokens = append(b.tokens, string(m[1]))
	}
	return nil
}

func (b *bench) get(path, cookie string) (*http.Response, []byte, error) {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func (b *bench) postLogin(user, password string) (*http.Response, error) {
	body, ctype := multipartBody(map[string]string{"operation": "login", "username": user, "password": password, "csrf_token": b.loginToken})
	req, _ := http.NewRequest("POST", b.base+"/accounts/?target=/", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Cookie", b.loginCookie)
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

func multipartBody(fields map[string]string) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	_ = w.Close()
	return &buf, w.FormDataContentType()
}

// worker is one connection's state in a scenario: do sends a request and
// records its latency; a step sends one or more.
type worker struct {
	b      *bench
	id     int
	rng    *rand.Rand
	lat    []time.Duration
	errors int
	first  string
}

// do sends req, reads the body, and checks the status against want.
func (w *worker) do(req *http.Request, want ...int) []byte {
	start := time.Now()
	resp, err := w.b.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	w.lat = append(w.lat, time.Since(start))
	if err == nil && !slices.Contains(want, resp.StatusCode) {
		err = fmt.Errorf("%s %s: status %d: %.200s", req.Method, req.URL.RequestURI(), resp.StatusCode, body)
	}
	if err != nil {
		w.errors++
		if w.first == "" {
			w.first = err.Error()
		}
		return nil
	}
	return body
}

func (w *worker) req(method, path, cookie string, body io.Reader) *http.Request {
	req, _ := http.NewRequest(method, w.b.base+path, body)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
		// As a browser's fetch does: the API takes cookie writes only
		// from the site's own origin.
		req.Header.Set("Origin", w.b.base)
	}
	return req
}

func (w *worker) user() int        { return w.id % len(w.b.cookies) }
func (w *worker) cookie() string   { return w.b.cookies[w.user()] }
func (w *worker) username() string { return w.b.ds.users0[w.user()] }
func (w *worker) post() int64 {
	return w.b.ds.minPost + w.rng.Int64N(w.b.ds.maxPost-w.b.ds.minPost+1)
}

type scenario struct {
	name  string
	conns int // 0: the run's default
	// cold: no warm-up step; every request of the scenario is a full
	// password check anyway, and warming up would double its time.
	cold bool
	step func(w *worker)
}

func (b *bench) scenarios() []scenario {
	basicAuth := func(user, pw string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
	}
	feed := func(w *worker) { w.do(w.req("GET", "/api/v1/posts/?size=10", w.cookie(), nil), 200) }
	detail := func(w *worker) { w.do(w.req("GET", fmt.Sprintf("/api/v1/posts/%d/", w.post()), w.cookie(), nil), 200) }
	userPage := func(w *worker) {
		w.do(w.req("GET", "/users/"+b.ds.users0[w.rng.IntN(len(b.ds.users0))]+"/", w.cookie(), nil), 200)
	}
	likeUnlike := func(w *worker) {
		body := w.do(w.req("POST", fmt.Sprintf("/api/v1/likes/?postid=%d", w.post()), w.cookie(), nil), 200, 201)
		var like struct{ Likeid int64 }
		if body != nil && json.Unmarshal(body, &like) == nil {
			w.do(w.req("DELETE", fmt.Sprintf("/api/v1/likes/%d/", like.Likeid), w.cookie(), nil), 204)
		}
	}
	commentCycle := func(w *worker) {
		req := w.req("POST", fmt.Sprintf("/api/v1/comments/?postid=%d", w.post()), w.cookie(), strings.NewReader(`{"text":"benchmark comment"}`))
		req.Header.Set("Content-Type", "application/json")
		body := w.do(req, 201)
		var c struct{ Commentid int64 }
		if body != nil && json.Unmarshal(body, &c) == nil {
			w.do(w.req("DELETE", fmt.Sprintf("/api/v1/comments/%d/", c.Commentid), w.cookie(), nil), 204)
		}
	}
	return []scenario{
		{name: "ceiling /healthz", step: func(w *worker) { w.do(w.req("GET", "/healthz", "", nil), 200) }},
		{name: "api feed page 0 (cookie)", step: feed},
		{name: "api feed page 50 (deep)", step: func(w *worker) {
			w.do(w.req("GET", fmt.Sprintf("/api/v1/posts/?size=10&page=50&postid_lte=%d", b.ds.maxPost), w.cookie(), nil), 200)
		}},
		{name: "api feed page 0 (Basic)", step: func(w *worker) {
			req := w.req("GET", "/api/v1/posts/?size=10", "", nil)
			req.Header.Set("Authorization", basicAuth(w.username(), "password"))
			w.do(req, 200)
		}},
		{name: "api feed heavy user", step: func(w *worker) {
			w.do(w.req("GET", "/api/v1/posts/?size=10", b.heavyCookie, nil), 200)
		}},
		// One connection: the latency of the page itself, without queueing
		// behind 31 others.
		{name: "api feed heavy user, 1 conn", conns: 1, step: func(w *worker) {
			w.do(w.req("GET", "/api/v1/posts/?size=10", b.heavyCookie, nil), 200)
		}},
		{name: "api post detail", step: detail},
		{name: "page /", step: func(w *worker) { w.do(w.req("GET", "/", w.cookie(), nil), 200) }},
		{name: "page /users/<u>/", step: userPage},
		{name: "page /posts/<id>/", step: func(w *worker) {
			w.do(w.req("GET", fmt.Sprintf("/posts/%d/", w.post()), w.cookie(), nil), 200)
		}},
		{name: "api like+unlike", step: likeUnlike},
		{name: "api comment+delete", step: commentCycle},
		{name: "form like+unlike", step: func(w *worker) {
			post := fmt.Sprint(w.post())
			for _, op := range []string{"like", "unlike"} {
				body, ctype := multipartBody(map[string]string{"operation": op, "postid": post, "csrf_token": b.tokens[w.user()]})
				req := w.req("POST", "/likes/?target=/", w.cookie(), body)
				req.Header.Set("Content-Type", ctype)
				w.do(req, 302, 409)
			}
		}},
		{name: "login burst", cold: true, step: func(w *worker) {
			body, ctype := multipartBody(map[string]string{"operation": "login", "username": w.username(), "password": "password", "csrf_token": b.loginToken})
			req := w.req("POST", "/accounts/?target=/", b.loginCookie, body)
			req.Header.Set("Content-Type", ctype)
			w.do(req, 302, 503)
		}},
		{name: "basic wrong password x64", conns: 64, cold: true, step: func(w *worker) {
			req := w.req("GET", "/api/v1/posts/?size=10", "", nil)
			req.Header.Set("Authorization", basicAuth(w.username(), "wrong"))
			// 403 until the per-address throttle starts answering 429
			// (every request comes from loopback), 503 when no password
			// check slot frees in time: all deliberate answers.
			w.do(req, 403, 429, 503)
		}},
		{name: "mixed 90/10", step: func(w *worker) {
			switch n := w.rng.IntN(100); {
			case n < 40:
				feed(w)
			case n < 75:
				detail(w)
			case n < 90:
				userPage(w)
			case n < 95:
				likeUnlike(w)
			default:
				commentCycle(w)
			}
		}},
	}
}

type result struct {
	// stmtsPerReq and tripsPerReq are statements and round trips to
	// PostgreSQL per request, counted by the server.
	stmtsPerReq, tripsPerReq float64
	rps                      float64
	p50, p99                 time.Duration
	errors                   int
	peakKB                   int64
	// cpuPerReq is the server process's CPU time (user and system) per
	// request: unlike req/s it hardly depends on what else the machine
	// runs. With PostgreSQL, the database server's own work is not in it.
	cpuPerReq time.Duration
	// dbCPUPerReq and poolerCPUPerReq are the CPU time per request of
	// every PostgreSQL process on this machine and of PgBouncer: with the
	// server's own, where a request's CPU goes (all share the same cores).
	dbCPUPerReq, poolerCPUPerReq time.Duration
	firstErr                     string
}

// sample is one slice of a scenario on one server.
type sample struct {
	lat             []time.Duration
	elapsed         time.Duration
	errors          int
	firstErr        string
	peakKB          int64
	cpu             time.Duration
	dbCPU, poolCPU  time.Duration
	requests, stmts float64
	trips           float64
}

// runScenario runs s on b for d with a share of the connections (1: all,
// 2: half, when its partner runs at the same moment) and returns what it
// measured.
func (b *bench) runScenario(s scenario, d time.Duration, share int) (sample, error) {
	conns := s.conns
	if conns == 0 {
		conns = b.conns
	}
	conns = max(1, conns/share)
	// Reset the servers' peak RSS so VmHWM is this scenario's peak
	// (warm-up included).
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", b.pid), []byte("5"), 0)
	before := scrape(b.metricsAddr)
	var stop atomic.Bool
	workers := make([]*worker, conns)
	var wg, warm sync.WaitGroup
	var started sync.WaitGroup
	started.Add(1)
	for i := range workers {
		w := &worker{b: b, id: i, rng: rand.New(rand.NewPCG(uint64(i), 485))}
		workers[i] = w
		wg.Add(1)
		warm.Add(1)
		go func() {
			defer wg.Done()
			// One untimed step each first: connections open, and a client's
			// first Basic request (a full password check) is not steady state.
			if !s.cold {
				s.step(w)
				w.lat, w.errors, w.first = w.lat[:0], 0, ""
			}
			warm.Done()
			started.Wait()
			for !stop.Load() {
				s.step(w)
			}
		}()
	}
	warm.Wait()
	cpuStart := cpuTime(b.pid)
	var dbStart, poolStart time.Duration
	if !b.sqlite() {
		dbStart, poolStart = postgresCPU(), cpuTime(b.poolerPID)
	}
	start := time.Now()
	started.Done()
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	var r sample
	r.elapsed = time.Since(start)
	for _, w := range workers {
		r.lat = append(r.lat, w.lat...)
		r.errors += w.errors
		if r.firstErr == "" {
			r.firstErr = w.first
		}
	}
	r.peakKB = vmHWM(b.pid)
	r.cpu = cpuTime(b.pid) - cpuStart
	if !b.sqlite() {
		r.dbCPU, r.poolCPU = postgresCPU()-dbStart, cpuTime(b.poolerPID)-poolStart
	}
	after := scrape(b.metricsAddr)
	r.requests, r.stmts, r.trips = after.requests-before.requests, after.statements-before.statements, after.roundTrips-before.roundTrips
	if len(r.lat) == 0 {
		return r, errors.New("no request completed")
	}
	return r, nil
}

// serverSample is a sample and the server it was taken on.
type serverSample struct {
	server *bench
	sample sample
}

// runWithPartner runs scenario i on b for d and, with --against, on b's
// partner at the same moment, each with half the connections.
func (b *bench) runWithPartner(i int, d time.Duration) ([]serverSample, error) {
	if b.partner == nil {
		smp, err := b.runScenario(b.scenarios()[i], d, 1)
		if err != nil {
			return nil, fmt.Errorf("on %s: %w", b.name, err)
		}
		return []serverSample{{b, smp}}, nil
	}
	group := []*bench{b, b.partner}
	out := make([]serverSample, len(group))
	errs := make([]error, len(group))
	var wg sync.WaitGroup
	for k, t := range group {
		wg.Add(1)
		go func() {
			defer wg.Done()
			smp, err := t.runScenario(t.scenarios()[i], d, len(group))
			out[k] = serverSample{t, smp}
			if err != nil {
				errs[k] = fmt.Errorf("on %s: %w", t.name, err)
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// sqlite says whether b serves from SQLite, in its process: no round trips.
func (b *bench) sqlite() bool { return strings.TrimSuffix(b.name, "*") == "sqlite" }

// combine sums the slices of one scenario on one server into its result.
func combine(samples []sample) result {
	var r result
	var lat []time.Duration
	var elapsed time.Duration
	var requests, stmts, trips float64
	var cpu, dbCPU, poolCPU time.Duration
	for _, s := range samples {
		lat = append(lat, s.lat...)
		elapsed += s.elapsed
		r.errors += s.errors
		if r.firstErr == "" {
			r.firstErr = s.firstErr
		}
		r.peakKB = max(r.peakKB, s.peakKB)
		cpu += s.cpu
		dbCPU += s.dbCPU
		poolCPU += s.poolCPU
		requests, stmts, trips = requests+s.requests, stmts+s.stmts, trips+s.trips
	}
	slices.Sort(lat)
	r.rps = float64(len(lat)) / elapsed.Seconds()
	r.p50 = lat[len(lat)/2]
	r.p99 = lat[len(lat)*99/100]
	r.cpuPerReq = cpu / time.Duration(len(lat))
	r.dbCPUPerReq = dbCPU / time.Duration(len(lat))
	r.poolerCPUPerReq = poolCPU / time.Duration(len(lat))
	if requests > 0 {
		r.stmtsPerReq, r.tripsPerReq = stmts/requests, trips/requests
	}
	return r
}

// selected reports whether scenario name is in the comma-separated list
// only (words it contains); an empty list selects every scenario. The
// ceiling always runs: every other figure is a share of it.
func selected(name, only string) bool {
	if only == "" || name == "ceiling /healthz" {
		return true
	}
	for _, w := range strings.Split(only, ",") {
		if w = strings.TrimSpace(w); w != "" && strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// fetchProfile saves a CPU profile of the server taken over d.
func fetchProfile(addr, file string, d time.Duration) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(1, int(d.Seconds()))))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	logf("CPU profile in %s (go tool pprof -top %s)", file, file)
	return f.Close()
}

// vmHWM reads the peak resident set size of pid in kB.
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func waitReady(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the server did not become ready at %s within 60 s (see server.log in the work directory)", u)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", errors.New("run insta485-bench inside the insta485 repository (go env GOMOD found no module)")
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "insta485-bench: "+format+"\n", args...)
}
