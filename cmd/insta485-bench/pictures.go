package main

// The pictures scenario (--pictures): a logged-in client fetching feed
// pictures through nginx (deploy/nginx.conf) in front of three app server
// processes, with the uploads on an S3 server (versitygw, as the tests
// use), once per --uploads-delivery mode in the same run. It prints
// pictures/s, MB/s and the CPU time the app servers (and nginx and the S3
// server) spent per picture, read from /proc/<pid>/stat before and after.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	mrand "math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// pictureModes are the delivery modes compared, proxy first: the others'
// ratios are to it. "redirect+cache" is redirect with a client that keeps
// each redirect for its max-age, as browsers do; the others follow every
// redirect afresh.
var pictureModes = []string{"proxy", "redirect", "x-accel-redirect", "redirect+cache"}

// picturePosts is how many pictures the scenario uploads and fetches.
const picturePosts = 24

// procs are the processes the pictures scenario started, stopped at the end.
type procs struct{ cmds []*exec.Cmd }

func (p *procs) start(c *exec.Cmd) error {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		return err
	}
	p.cmds = append(p.cmds, c)
	return nil
}

// stopAll stops them newest first (the app servers before the stores).
func (p *procs) stopAll() {
	for i := len(p.cmds) - 1; i >= 0; i-- {
		c := p.cmds[i]
		_ = c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	p.cmds = nil
}

func runPictures(o options, root, bin string) error {
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		return errors.New("the pictures scenario needs nginx (apt-get install nginx)")
	}
	gw, err := versityGW()
	if err != nil {
		return err
	}
	dir := filepath.Join(o.dir, "pictures")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ps procs
	defer ps.stopAll()

	s3, err := startVersityGW(&ps, gw, filepath.Join(dir, "s3"))
	if err != nil {
		return err
	}
	dsn := filepath.Join(dir, "insta485.sqlite3")
	if o.backend == "postgres" {
		dsn, err = freshPostgres(o.pgURL, "insta485_bench_pictures")
		if err != nil {
			return err
		}
	}
	env := []string{"INSTA485_DATABASE=" + dsn, "INSTA485_UPLOADS=s3://" + s3.bucket + "/pictures",
		"INSTA485_SECRET_KEY=" + randomHex(32), "INSTA485_LOG_FORMAT=json",
		"AWS_ENDPOINT_URL_S3=" + s3.endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + s3.access, "AWS_SECRET_ACCESS_KEY=" + s3.secret}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INSTA485_") && !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "POSTGRESQL_") {
			env = append(env, kv)
		}
	}
	reset := exec.Command(bin, "db", "reset")
	reset.Env, reset.Stdout, reset.Stderr = env, os.Stderr, os.Stderr
	if err := reset.Run(); err != nil {
		return fmt.Errorf("db reset: %w", err)
	}

	var out strings.Builder
	commit, _ := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&out, "insta485-bench --pictures --backend %s  (%s, commit %s, %d cores, loadavg %s)\n",
		o.backend, time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.TrimSpace(string(commit)), runtime.NumCPU(),
		strings.Join(strings.Fields(string(load))[:3], " "))

	var names []string
	var results []pictureResult
	for i, mode := range pictureModes {
		pprofAddr := ""
		if o.profile != "" && strings.Contains(mode, o.profile) {
			if pprofAddr, err = freeAddr(); err != nil {
				return err
			}
		}
		site, err := startSite(root, bin, nginxBin, env, strings.TrimSuffix(mode, "+cache"), filepath.Join(dir, mode), pprofAddr)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		c := newPictureClient(site.url)
		if err := c.login("awdeorio", "chickens"); err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		if i == 0 {
			logf("uploading %d photo-sized pictures", picturePosts)
			if names, err = c.uploadPictures(picturePosts); err != nil {
				return err
			}
			size := 0
			for _, n := range names {
				b, err := c.picture(n, nil)
				if err != nil {
					return err
				}
				size += len(b)
			}
			fmt.Fprintf(&out, "%d pictures of %.0f KB on average (%d px JPEG, as stored), fetched by %d connections logged in as one user,\n"+
				"through nginx in front of 3 app servers, uploads on versitygw; %s per mode\n\n",
				len(names), float64(size)/float64(len(names))/1024, 1080, o.conns, o.duration)
			fmt.Fprintf(&out, "%-18s %11s %8s %13s %11s %10s %12s %14s\n", "mode", "pictures/s", "MB/s", "app CPU/pic", "nginx/pic", "S3/pic",
				"vs proxy:p/s", "vs proxy:CPU")
			fmt.Print(out.String())
		}
		logf("%s: measuring", mode)
		var profiled chan error
		if pprofAddr != "" {
			profiled = make(chan error, 1)
			file := filepath.Join(o.dir, "cpu-pictures-"+mode+".pprof")
			go func() { profiled <- fetchProfile(pprofAddr, file, o.duration) }()
		}
		r, err := c.measure(names, o.conns, o.duration, strings.HasSuffix(mode, "+cache"), site.appPIDs, site.nginxPID, s3.pid)
		if profiled != nil {
			if perr := <-profiled; perr != nil {
				logf("profile of app1 in %s mode: %v", mode, perr)
			}
		}
		site.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		r.mode = mode
		results = append(results, r)
		base := results[0]
		line := fmt.Sprintf("%-18s %11.0f %8.1f %11.0fµs %9.0fµs %8.0fµs %11.2f× %13.1f%%\n", mode, r.rate(), r.mbps(),
			r.perPicture(r.appCPU), r.perPicture(r.nginxCPU), r.perPicture(r.s3CPU),
			r.rate()/base.rate(), 100*r.perPicture(r.appCPU)/base.perPicture(base.appCPU))
		if r.errors > 0 {
			line = strings.TrimRight(line, "\n") + fmt.Sprintf("   %d errors, first: %s\n", r.errors, r.firstErr)
		}
		fmt.Print(line)
		out.WriteString(line)
	}
	file := o.out
	if file == "" || !strings.Contains(filepath.Base(file), "pictures") {
		file = filepath.Join(root, "bench", "results-pictures-"+o.backend+".txt")
	}
	return os.WriteFile(file, []byte(out.String()), 0o644)
}

// versityGW finds the versitygw binary as the tests do.
func versityGW() (string, error) {
	if p := os.Getenv("INSTA485_VERSITYGW"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	home, _ := os.UserHomeDir()
	cache := envOr("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	p := filepath.Join(cache, "insta485", "bin", "versitygw")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("the pictures scenario needs versitygw (set INSTA485_VERSITYGW, or: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
	}
	return p, nil
}

type s3Server struct {
	endpoint, bucket, access, secret string
	pid                              int
}

// startVersityGW runs versitygw on a directory with generated keys and
// creates a bucket on it.
func startVersityGW(ps *procs, bin, root string) (*s3Server, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &s3Server{endpoint: "http://" + addr, bucket: "insta485-bench", access: "AK" + randomHex(8), secret: randomHex(20)}
	c := exec.Command(bin, "--port", addr, "--region", "us-east-1", "--quiet", "posix", root)
	c.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.access, "ROOT_SECRET_ACCESS_KEY="+s.secret)
	if err := ps.start(c); err != nil {
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	s.pid = c.Process.Pid
	if err := waitListening(addr); err != nil {
		return nil, fmt.Errorf("versitygw: %w", err)
	}
	client, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(s.access, s.secret, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, err
	}
	if err := client.MakeBucket(context.Background(), s.bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		return nil, fmt.Errorf("create the bucket: %w", err)
	}
	return s, nil
}

func sqlOpenPostgres(serverURL string) (*sql.DB, error) { return sql.Open("pgx", serverURL) }

// withDatabase is the server URL naming database name.
func withDatabase(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", fmt.Errorf("--postgres: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// freshPostgres (re)creates database name on the server at serverURL and
// returns its URL.
func freshPostgres(serverURL, name string) (string, error) {
	db, err := sqlOpenPostgres(serverURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("--postgres: %w", err)
	}
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		return "", fmt.Errorf("--postgres: %w", err)
	}
	return withDatabase(serverURL, name)
}

// site is three app servers in one delivery mode behind nginx.
type site struct {
	url      string
	appPIDs  []int
	nginxPID int
	ps       procs
}

func (s *site) stop() { s.ps.stopAll() }

func startSite(root, bin, nginxBin string, env []string, mode, dir, pprofAddr string) (*site, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &site{}
	ok := false
	defer func() {
		if !ok {
			s.stop()
		}
	}()
	var upstreams strings.Builder
	for i := range 3 {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("app%d.log", i+1)))
		if err != nil {
			return nil, err
		}
		c := exec.Command(bin, "serve")
		c.Env = append(env, "INSTA485_ADDR="+addr, "INSTA485_UPLOADS_DELIVERY="+mode)
		if i == 0 && pprofAddr != "" {
			c.Env = append(c.Env, "INSTA485_PPROF_ADDR="+pprofAddr)
		}
		c.Stdout, c.Stderr = logFile, logFile
		err = s.ps.start(c)
		logFile.Close()
		if err != nil {
			return nil, err
		}
		s.appPIDs = append(s.appPIDs, c.Process.Pid)
		if err := waitReady("http://" + addr + "/readyz"); err != nil {
			return nil, err
		}
		fmt.Fprintf(&upstreams, "server %s max_fails=3 fail_timeout=10s;\n    ", addr)
	}
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "deploy", "nginx.conf"))
	if err != nil {
		return nil, err
	}
	conf := strings.NewReplacer("${INSTA485_LISTEN}", listen, "${INSTA485_SERVER_NAME}", "localhost",
		"${INSTA485_APP_SERVERS}", upstreams.String(), "${INSTA485_UPLOADS_DIR}", filepath.Join(dir, "unused")).Replace(string(tmpl))
	if err := os.WriteFile(filepath.Join(dir, "insta485.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	main := fmt.Sprintf(`%[2]s
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/insta485.conf;
    access_log off;
}
`, dir, user)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		return nil, err
	}
	c := exec.Command(nginxBin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	c.Stderr = os.Stderr
	if err := s.ps.start(c); err != nil {
		return nil, err
	}
	s.nginxPID = c.Process.Pid
	if err := waitListening(listen); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	s.url = "http://" + listen
	ok = true
	return s, nil
}

func waitListening(addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pictureClient is a logged-in browser without a cache.
type pictureClient struct {
	base   string
	cookie string
	client *http.Client
}

func newPictureClient(base string) *pictureClient {
	return &pictureClient{base: base, client: &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

func (c *pictureClient) do(req *http.Request) (*http.Response, []byte, error) {
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// form posts fields (and a JPEG as "file" when set) as multipart.
func (c *pictureClient) form(path string, fields map[string]string, file []byte) (*http.Response, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "photo.jpg")
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, _, err := c.do(req)
	return resp, err
}

func (c *pictureClient) token(path string) (string, error) {
	req, _ := http.NewRequest("GET", c.base+path, nil)
	resp, body, err := c.do(req)
	if err != nil {
		return "", err
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "csrf" && c.cookie == "" {
			c.cookie = "csrf=" + ck.Value
		}
	}
	m := csrfRe.FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("no csrf_token on %s (status %d)", path, resp.StatusCode)
	}
	return string(m[1]), nil
}

func (c *pictureClient) login(user, password string) error {
	c.cookie = ""
	tok, err := c.token("/accounts/login/")
	if err != nil {
		return err
	}
	resp, err := c.form("/accounts/?target=/", map[string]string{"operation": "login", "username": user, "password": password, "csrf_token": tok}, nil)
	if err != nil {
		return err
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "login" {
			c.cookie = "login=" + ck.Value
			return nil
		}
	}
	return fmt.Errorf("log in as %s: status %d", user, resp.StatusCode)
}

var postPicture = regexp.MustCompile(`src="/uploads/([0-9a-f]+\.jpg)" alt="Post`)

// uploadPictures posts n photo-like pictures and returns the names the
// user's page shows for them.
func (c *pictureClient) uploadPictures(n int) ([]string, error) {
	tok, err := c.token("/accounts/edit/")
	if err != nil {
		return nil, err
	}
	for i := range n {
		resp, err := c.form("/posts/?target=/", map[string]string{"operation": "create", "csrf_token": tok}, photo(uint64(i)))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusFound {
			return nil, fmt.Errorf("upload a picture: status %d", resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", c.base+"/users/awdeorio/", nil)
	_, body, err := c.do(req)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range postPicture.FindAllSubmatch(body, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) < n {
		return nil, fmt.Errorf("the user page shows %d pictures, want at least %d", len(names), n)
	}
	return names[:n], nil // newest first: the ones just uploaded
}

// photo is a 1080 px square picture with the smooth shapes and fine grain
// of a photograph, so that it compresses about as well as one.
func photo(seed uint64) []byte {
	const side = 1080
	rng := mrand.New(mrand.NewPCG(seed, 485))
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	fx, fy := 2+rng.Float64()*4, 2+rng.Float64()*4
	for y := range side {
		for x := range side {
			u, v := float64(x)/side, float64(y)/side
			r := 128 + 90*math.Sin(fx*u+3*v) + rng.NormFloat64()*9
			g := 120 + 80*math.Cos(fy*v+2*u) + rng.NormFloat64()*9
			b := 110 + 70*math.Sin(5*u*v+fx) + rng.NormFloat64()*9
			img.Set(x, y, color.RGBA{clamp(r), clamp(g), clamp(b), 255})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92})
	return buf.Bytes()
}

func clamp(f float64) uint8 { return uint8(max(0, min(255, f))) }

// redirectCache keeps redirects for their max-age, as a browser does.
type redirectCache map[string]cachedRedirect

type cachedRedirect struct {
	location string
	until    time.Time
}

var maxAge = regexp.MustCompile(`max-age=(\d+)`)

// picture fetches /uploads/name as a browser would: following a redirect
// to the store (without the site's cookie), taken from cache when set.
func (c *pictureClient) picture(name string, cache redirectCache) ([]byte, error) {
	var resp *http.Response
	var body []byte
	location := ""
	if r, ok := cache[name]; ok && time.Now().Before(r.until) {
		location = r.location
	} else {
		req, _ := http.NewRequest("GET", c.base+"/uploads/"+name, nil)
		var err error
		if resp, body, err = c.do(req); err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusFound {
			location = resp.Header.Get("Location")
			if m := maxAge.FindStringSubmatch(resp.Header.Get("Cache-Control")); m != nil && cache != nil {
				secs, _ := strconv.Atoi(m[1])
				cache[name] = cachedRedirect{location, time.Now().Add(time.Duration(secs) * time.Second)}
			}
		}
	}
	if location != "" {
		req, _ := http.NewRequest("GET", location, nil)
		var err error
		resp, err = c.client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if body, err = io.ReadAll(resp.Body); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /uploads/%s: status %d: %.200s", name, resp.StatusCode, body)
	}
	return body, nil
}

type pictureResult struct {
	mode                    string
	pictures, bytes         int64
	elapsed                 time.Duration
	appCPU, nginxCPU, s3CPU time.Duration
	errors                  int64
	firstErr                string
}

func (r pictureResult) rate() float64 { return float64(r.pictures) / r.elapsed.Seconds() }
func (r pictureResult) mbps() float64 { return float64(r.bytes) / r.elapsed.Seconds() / 1e6 }

// perPicture is d per picture fetched, in microseconds.
func (r pictureResult) perPicture(d time.Duration) float64 {
	return float64(d) / float64(time.Microsecond) / float64(max(r.pictures, 1))
}

// measure fetches the pictures round robin on conns connections for d,
// after a second's warm-up, and reads the CPU time of the processes.
func (c *pictureClient) measure(names []string, conns int, d time.Duration, keepRedirects bool, apps []int, nginx, s3 int) (pictureResult, error) {
	var r pictureResult
	var stop, counting atomic.Bool
	var pics, byteCount, errs atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cache redirectCache
			if keepRedirects {
				cache = redirectCache{}
			}
			for k := i; !stop.Load(); k++ {
				b, err := c.picture(names[k%len(names)], cache)
				if !counting.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.Do(func() { r.firstErr = err.Error() })
					continue
				}
				pics.Add(1)
				byteCount.Add(int64(len(b)))
			}
		}()
	}
	time.Sleep(time.Second)
	nginxPIDs := append([]int{nginx}, children(nginx)...)
	app0, ngx0, s30 := cpuTime(apps...), cpuTime(nginxPIDs...), cpuTime(s3)
	start := time.Now()
	counting.Store(true)
	time.Sleep(d)
	counting.Store(false)
	r.elapsed = time.Since(start)
	r.appCPU, r.nginxCPU, r.s3CPU = cpuTime(apps...)-app0, cpuTime(nginxPIDs...)-ngx0, cpuTime(s3)-s30
	stop.Store(true)
	wg.Wait()
	r.pictures, r.bytes, r.errors = pics.Load(), byteCount.Load(), errs.Load()
	if r.pictures == 0 {
		return r, fmt.Errorf("no picture fetched: %s", r.firstErr)
	}
	return r, nil
}

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// Linux).
const clockTick = 10 * time.Millisecond

// cpuTime is the user and system CPU time the processes have used.
func cpuTime(pids ...int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name, which may hold spaces: state is
		// field 3, utime 14 and stime 15.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+s) * clockTick
	}
	return total
}

// postgresCPU is the CPU time of every PostgreSQL server process on this
// machine (the benchmark's server; its backends live as long as the pools'
// connections, so a difference over a scenario is that scenario's work).
func postgresCPU() time.Duration {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			pids = append(pids, p)
		}
	}
	return cpuTime(pids...)
}

// children lists the processes whose parent is pid (nginx's workers).
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
