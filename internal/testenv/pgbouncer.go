package testenv

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PgBouncer is a real PgBouncer (Debian's pgbouncer) in front of a test
// cluster, on a free loopback port, stopped when the test ends.
type PgBouncer struct {
	Port    int
	Mode    string // transaction or session
	Dir     string
	LogFile string
}

// NewPgBouncer starts PgBouncer in pool mode (transaction or session) in
// front of c, letting in the superuser postgres and c's AppRole with their
// passwords (scram-sha-256 on both sides). On a managed cluster it talks
// to the server over verified TLS. PgBouncer refuses to run as root, so
// under root it runs as the postgres OS user, like the cluster. Each
// database gets a small pool (poolSize server connections), so clients
// share server connections the way a busy production pooler makes them.
func NewPgBouncer(t testing.TB, c *Cluster, mode string, poolSize int) *PgBouncer {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			NeedTool(t, "pgbouncer", "apt-get install pgbouncer")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	dir, err := os.MkdirTemp("", "insta485-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := chownToPostgres(dir); err != nil {
		t.Fatal(err)
	}
	b := &PgBouncer{Port: FreePort(t), Mode: mode, Dir: dir, LogFile: filepath.Join(dir, "pgbouncer.log")}
	users := fmt.Sprintf("%q %q\n%q %q\n", "postgres", c.SuperPassword, c.AppRole, c.AppPassword)
	conf := []string{
		"[databases]",
		fmt.Sprintf("* = host=localhost port=%d", c.Port),
		"[pgbouncer]",
		"listen_addr = 127.0.0.1",
		fmt.Sprintf("listen_port = %d", b.Port),
		"unix_socket_dir =",
		"auth_type = scram-sha-256",
		"auth_file = " + filepath.Join(dir, "userlist.txt"),
		"pool_mode = " + mode,
		fmt.Sprintf("default_pool_size = %d", poolSize),
		"max_client_conn = 500",
		"admin_users = postgres",
		"logfile = " + b.LogFile,
	}
	if c.CAFile != "" {
		conf = append(conf, "server_tls_sslmode = verify-full", "server_tls_ca_file = "+c.CAFile)
	}
	for name, content := range map[string]string{"userlist.txt": users, "pgbouncer.ini": strings.Join(conf, "\n") + "\n"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := chownToPostgres(p); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.Dir = dir
	if cred := postgresCredential(); cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); out.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			logs, _ := os.ReadFile(b.LogFile)
			errs, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
			t.Logf("pgbouncer log:\n%s%s", lastLines(string(logs), 40), errs)
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		select {
		case err := <-exited:
			errs, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
			logs, _ := os.ReadFile(b.LogFile)
			t.Fatalf("pgbouncer exited at start: %v\n%s%s", err, errs, logs)
		default:
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)), time.Second)
		if err == nil {
			conn.Close()
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgbouncer never listened on %d: %v", b.Port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL connects through the pooler as user to database (plain TCP on
// loopback; the pooler speaks TLS to a managed server).
func (b *PgBouncer) URL(user, password, database string) string {
	u := &url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

func chownToPostgres(path string) error {
	cred := postgresCredential()
	if cred == nil {
		return nil
	}
	return os.Chown(path, int(cred.Uid), int(cred.Gid))
}
