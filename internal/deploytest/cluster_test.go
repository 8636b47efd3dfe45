package deploytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/testenv"
)

// repoRoot is the repository's top directory, seen from this package.
const repoRoot = "../.."

// binary is the insta485 binary the tests run, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "insta485-deploytest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "insta485")
	build := exec.Command("go", "build", "-o", binary, "./cmd/insta485")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/insta485: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need returns the path of tool, or skips t without it (fails under CI,
// where .ci/run installs it).
func need(t *testing.T, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI (Debian package %s): %v", tool, pkg, err)
		}
		t.Skipf("skipping: %s not installed (apt-get install %s)", tool, pkg)
	}
	return p
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// uploadStore returns the --uploads value every instance of a cluster
// shares, and the environment the store needs: kind "s3" (the reference
// topology) is a fresh bucket on a real S3 server (versitygw), "local" a
// directory all instances see, as an NFS mount would be.
func uploadStore(t *testing.T, kind string) (uploads string, env []string) {
	t.Helper()
	switch kind {
	case "local":
		return filepath.Join(t.TempDir(), "uploads"), nil
	case "s3":
		srv := testenv.NewS3Bucket(t)
		for k, v := range srv.Env() {
			env = append(env, k+"="+v)
		}
		return srv.Spec, env
	}
	t.Fatalf("unknown upload store %q", kind)
	return "", nil
}

// baseEnv is the test's environment without settings of its own that
// could leak into the servers.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "INSTA485_") || strings.HasPrefix(kv, "POSTGRESQL_DATABASE_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// cluster is one site: a database, a secret key, an upload store, and
// app server instances behind nginx.
type cluster struct {
	env       []string // shared settings of every instance
	instances []*instance
	nginx     *nginx
	// URL is nginx's address, where clients go.
	URL string
	DSN string
	// uploadsDir is nginx's INSTA485_UPLOADS_DIR.
	uploadsDir string
}

// newCluster creates a fresh PostgreSQL database with the sample data
// (through `insta485 db create`) and uploads in a store of kind (see
// uploadStore), starts n instances on it, with the settings of env added,
// and nginx in front of them.
func newCluster(t *testing.T, n int, store string, env ...string) *cluster {
	t.Helper()
	need(t, "nginx", "nginx")
	db := testenv.NewDatabase(t, "postgres")
	uploads, uploadEnv := uploadStore(t, store)
	c := &cluster{DSN: db.DSN, uploadsDir: uploads}
	if store != "local" {
		// nginx's directory location is unused with an object store.
		c.uploadsDir = t.TempDir()
	}
	c.env = append(baseEnv(),
		"INSTA485_DATABASE="+db.DSN,
		"INSTA485_UPLOADS="+uploads,
		"INSTA485_SECRET_KEY="+testenv.RandomName("deploytest-secret-0123456789abcdef-"),
		"INSTA485_LOG_FORMAT=json",
	)
	c.env = append(c.env, uploadEnv...)
	createDB(t, c.env)
	c.env = append(c.env, env...)
	for i := range n {
		c.instances = append(c.instances, startInstance(t, fmt.Sprintf("app%d", i+1), binary, c.env))
	}
	var upstreams []string
	for _, in := range c.instances {
		upstreams = append(upstreams, in.Addr)
	}
	c.nginx = startNginx(t, upstreams, c.uploadsDir)
	c.URL = c.nginx.URL
	return c
}

// instanceOf returns the instance whose request log holds request id, or
// nil.
func (c *cluster) instanceOf(t *testing.T, id string) *instance {
	t.Helper()
	for _, in := range c.instances {
		if in.served(t)[id] {
			return in
		}
	}
	return nil
}

// instance is one insta485 app server process.
type instance struct {
	Name        string
	Addr        string // host:port of the site
	MetricsAddr string // host:port of /metrics
	cmd         *exec.Cmd
	logPath     string
	exited      chan struct{}
	waitErr     error
}

// startInstance runs `insta485 serve` (or, with argv set, that command
// line instead) on free ports, waits until /readyz answers, and stops it
// when t ends.
func startInstance(t *testing.T, name, bin string, env []string, argv ...string) *instance {
	t.Helper()
	in := &instance{Name: name, Addr: freeAddr(t), MetricsAddr: freeAddr(t), exited: make(chan struct{})}
	in.logPath = filepath.Join(t.TempDir(), name+".log")
	logf, err := os.Create(in.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	if len(argv) == 0 {
		argv = []string{bin, "serve"}
	}
	in.cmd = exec.Command(argv[0], argv[1:]...)
	in.cmd.Env = append(env, "INSTA485_ADDR="+in.Addr, "INSTA485_METRICS_ADDR="+in.MetricsAddr)
	in.cmd.Stdout = logf
	in.cmd.Stderr = logf
	// A group of its own, so that whatever a wrapper script left running
	// (a server it did not exec) is stopped with it at the end.
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := in.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		in.waitErr = in.cmd.Wait()
		close(in.exited)
	}()
	t.Cleanup(func() {
		defer func() { _ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL) }()
		select {
		case <-in.exited:
			return
		default:
		}
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(30 * time.Second):
			_ = in.cmd.Process.Kill()
			<-in.exited
			t.Errorf("%s did not stop within 30 s of SIGTERM\n%s", name, in.logs())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + in.Addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return in
			}
		}
		select {
		case <-in.exited:
			t.Fatalf("%s exited before it was ready: %v\n%s", name, in.waitErr, in.logs())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 30 s (last: %v)\n%s", name, err, in.logs())
		}
	}
}

// signal sends sig to the instance's process.
func (in *instance) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := in.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s: %v", in.Name, err)
	}
}

// wait waits up to timeout for the process to exit and returns how it did.
func (in *instance) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-in.exited:
		return in.waitErr
	case <-time.After(timeout):
		t.Fatalf("%s still running %v after it was told to stop\n%s", in.Name, timeout, in.logs())
		return nil
	}
}

func (in *instance) logs() string {
	b, _ := os.ReadFile(in.logPath)
	return string(b)
}

// logLine is a request line of the JSON request log.
type logLine struct {
	Msg    string `json:"msg"`
	ID     string `json:"id"`
	Method string `json:"method"`
	Route  string `json:"route"`
	Status int    `json:"status"`
}

// requests returns the request log lines the instance has written.
func (in *instance) requests(t *testing.T) []logLine {
	t.Helper()
	b, err := os.ReadFile(in.logPath)
	if err != nil {
		t.Fatal(err)
	}
	var lines []logLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "request" {
			lines = append(lines, l)
		}
	}
	return lines
}

// served returns the ids of the requests the instance has logged.
func (in *instance) served(t *testing.T) map[string]bool {
	ids := map[string]bool{}
	for _, l := range in.requests(t) {
		ids[l.ID] = true
	}
	return ids
}

// nginx is a running nginx from deploy/nginx.conf.
type nginx struct {
	URL    string
	prefix string
	cmd    *exec.Cmd
}

// renderNginx fills in deploy/nginx.conf's placeholders the way its
// header says to (envsubst with four names), for nginx listening on
// listen in front of the app servers at upstreams, with the upload
// directory uploadsDir.
func renderNginx(t *testing.T, listen string, upstreams []string, uploadsDir string) string {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var servers strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&servers, "server %s max_fails=3 fail_timeout=10s;\n    ", u)
	}
	values := map[string]string{
		"INSTA485_LISTEN":      listen,
		"INSTA485_SERVER_NAME": "localhost",
		"INSTA485_APP_SERVERS": servers.String(),
		"INSTA485_UPLOADS_DIR": uploadsDir,
	}
	// The header's envsubst line names exactly these.
	m := envsubstLine.FindStringSubmatch(string(tmpl))
	if m == nil {
		t.Fatal("deploy/nginx.conf's header has no envsubst line naming its placeholders")
	}
	names := strings.Fields(m[1])
	if len(names) != len(values) {
		t.Fatalf("deploy/nginx.conf's envsubst line names %v, want the %d placeholders %v", names, len(values), values)
	}
	var pairs []string
	for _, name := range names {
		v, ok := values[name]
		if !ok {
			t.Fatalf("deploy/nginx.conf's envsubst line names %s, which the tests do not fill in", name)
		}
		pairs = append(pairs, "${"+name+"}", v)
	}
	conf := strings.NewReplacer(pairs...).Replace(string(tmpl))
	// Only in the comments may a placeholder remain.
	for _, line := range strings.Split(conf, "\n") {
		if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && strings.Contains(l, "${") {
			t.Fatalf("deploy/nginx.conf has a placeholder the deployment guide does not name: %s", l)
		}
	}
	return conf
}

// envsubstLine finds the names in the envsubst command of deploy/nginx.conf's header.
var envsubstLine = regexp.MustCompile(`envsubst "\$\(printf '\$\{%s\} ' ([A-Z0-9_ ]+)\)"`)

// startNginx runs nginx in the foreground with deploy/nginx.conf (for the
// http context) inside a minimal main configuration that keeps every file
// in a temporary prefix, and stops it when t ends.
func startNginx(t *testing.T, upstreams []string, uploadsDir string) *nginx {
	t.Helper()
	bin := need(t, "nginx", "nginx")
	prefix := t.TempDir()
	listen := freeAddr(t)
	site := filepath.Join(prefix, "insta485.conf")
	if err := os.WriteFile(site, []byte(renderNginx(t, listen, upstreams, uploadsDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		// Workers would run as nobody, who cannot write the temporary
		// directories of a test.
		user = "user root;"
	}
	main := fmt.Sprintf(`%[2]s
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log notice;
events { worker_connections 1024; }
http {
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/insta485.conf;
    access_log %[1]s/access.log insta485;
}
`, prefix, user)
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "error.log"), "-g", "daemon off;"}
	if out, err := exec.Command(bin, append([]string{"-t"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects deploy/nginx.conf: %v\n%s", err, out)
	}
	n := &nginx{URL: "http://" + listen, prefix: prefix, cmd: exec.Command(bin, args...)}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = n.cmd.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { _ = n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = n.cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			conn.Close()
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on %s: %v\n%s", listen, err, n.errorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *nginx) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.prefix, "error.log"))
	return string(b)
}
